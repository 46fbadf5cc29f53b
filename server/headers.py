"""The headers every response carries, the guard's own answers and server errors included: the outermost layer."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders

# What the pages load: ES modules from /static, the tfjs UMD scripts and the Swagger UI bundle from /vendor, the
# wasm backend's .wasm files (compiling them needs 'wasm-unsafe-eval', not 'unsafe-eval'), its threads (workers
# started from blob: URLs, which importScripts() the backend from another blob: URL: only script already running on
# this origin can mint one), images decoded from blob: and data: URLs. No inline script or style anywhere, no plugin,
# no <base>, and no site may frame a page (frame-ancestors; X-Frame-Options for older browsers).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval' blob:",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob: mediastream:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

RESPONSE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Cross-origin isolation, so the wasm backend may use threads (SharedArrayBuffer).
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    # No other site may embed an item, a weight file or a page's script: an <img> probe of dataset names fails.
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    # Camera stays allowed for the pages themselves (a "try it" panel may use a webcam); nothing else may ask.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


class SecurityHeadersMiddleware:
    """Adds RESPONSE_HEADERS to every HTTP response that passes through it (a header the app set itself wins)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                headers = MutableHeaders(scope=message)
                for key, value in RESPONSE_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
