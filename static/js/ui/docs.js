/** The API page: starts Swagger UI (the bundle's global SwaggerUIBundle) on the OpenAPI document the server names. */
const root = document.getElementById('swagger-ui');
const { SwaggerUIBundle } = globalThis;

// The options FastAPI's own docs page passes, from a module instead of an inline script (the CSP allows none).
SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  layout: 'BaseLayout',
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
