"""A snapshot's model.json checked against the allow-list before it is stored or handed to TensorFlow.

What is checked: the top-level keys; the topology is a functional model whose inputs are InputLayers; every layer's
class and config keys are in layer_allowlist.py (models inside the model are walked the same way, to a bounded
depth); every connection names a node that exists, and the graph has no cycle (Keras and tfjs rebuild a graph by
sweeping until every node is placed: a node that can never be placed makes them loop forever); the training config
names its optimizer and losses rather than carrying code.
"""

from __future__ import annotations

from collections import deque

from ..limits import MAX_MODEL_LAYERS, MAX_MODEL_NESTING
from .layer_allowlist import COMMON_KEYS, CONTAINERS, FUNCTION_NAME, LAYERS, NAME, OPTIMIZERS, SHAPE, Rule
from .service import RunError

# What tfjs writes into model.json (io.ModelJSON) for a layers model saved through tf.io.http.
MODEL_JSON_KEYS = {"modelTopology", "weightsManifest", "format", "generatedBy", "convertedBy", "trainingConfig"}
TOPOLOGY_KEYS = {"class_name", "config", "keras_version", "backend"}
FUNCTIONAL = {"Model", "Functional"}
_GRAPH_LAYER_KEYS = {"class_name", "config", "name", "inbound_nodes"}
_SEQUENTIAL_LAYER_KEYS = {"class_name", "config"}
_CALL_KWARGS = {
    "training": Rule("true, false or null", lambda v: v is None or isinstance(v, bool)),
    "mask": Rule("null", lambda v: v is None),
}


class TopologyError(RunError):
    """A model.json whose topology is outside the allow-list; nothing was stored."""


class _Walk:
    """One pass over a topology: counts layers across nesting, so a cap holds for the whole model."""

    def __init__(self):
        self.layers = 0

    def count(self, where: str) -> None:
        self.layers += 1
        if self.layers > MAX_MODEL_LAYERS:
            raise TopologyError(f"{where}: the model has more than {MAX_MODEL_LAYERS:,} layers")


def check_model_json(model_json: dict) -> None:
    """Raise TopologyError unless every part of model.json is one the allow-list describes."""
    unknown = sorted(set(model_json) - MODEL_JSON_KEYS)
    if unknown:
        raise TopologyError(f"model.json has keys a tfjs layers model does not write: {', '.join(unknown)}")
    if model_json.get("format", "layers-model") != "layers-model":
        raise TopologyError("model.json must be a layers-model (format 'layers-model')")
    for key in ("generatedBy", "convertedBy"):
        value = model_json.get(key)
        if value is not None and not (isinstance(value, str) and len(value) <= 256):
            raise TopologyError(f"model.json {key} must be a short string or null")
    topology = model_json.get("modelTopology")
    if not isinstance(topology, dict):
        raise TopologyError("model.json has no modelTopology")
    unknown = sorted(set(topology) - TOPOLOGY_KEYS)
    if unknown:
        raise TopologyError(f"modelTopology has unknown keys: {', '.join(unknown)}")
    for key in ("keras_version", "backend"):
        if key in topology and not (isinstance(topology[key], str) and len(topology[key]) <= 64):
            raise TopologyError(f"modelTopology {key} must be a short string")
    if topology.get("class_name") not in FUNCTIONAL:
        raise TopologyError(
            "the model must be a functional model (class 'Model' or 'Functional', as tf.model() "
            f"saves it), not {_shown(topology.get('class_name'))}"
        )
    _check_functional(topology.get("config"), "model", _Walk(), depth=0)
    if "trainingConfig" in model_json:
        _check_training_config(model_json["trainingConfig"])


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_layer(entry: dict, where: str, walk: _Walk, depth: int) -> str:
    """Check one layer's class and config; walk into a model inside the model. Returns its class name."""
    class_name = entry.get("class_name")
    config = entry.get("config")
    if not isinstance(class_name, str) or not (class_name in LAYERS or class_name in CONTAINERS):
        raise TopologyError(
            f"{where}: layer class {_shown(class_name)} is not allowed "
            f"(allowed: {', '.join(sorted(LAYERS) + sorted(CONTAINERS))})"
        )
    if not isinstance(config, dict):
        raise TopologyError(f"{where}: the {class_name} layer has no config")
    walk.count(where)
    if class_name in CONTAINERS:
        if depth + 1 > MAX_MODEL_NESTING:
            raise TopologyError(f"{where}: models are nested more than {MAX_MODEL_NESTING} deep")
        if class_name == "Sequential":
            _check_sequential(config, where, walk, depth + 1)
        else:
            _check_functional(config, where, walk, depth + 1)
        return class_name
    keys = {**COMMON_KEYS, **LAYERS[class_name]}
    for key, value in config.items():
        rule = keys.get(key)
        if rule is None:
            raise TopologyError(
                f"{where}: {class_name} has a config key {_shown(key)} that is not allowed "
                f"(allowed: {', '.join(sorted(keys))})"
            )
        if not rule.accepts(value):
            raise TopologyError(f"{where}: {class_name} {key} must be {rule.wants}, not {_shown(value)}")
    if class_name == "InputLayer" and "batch_input_shape" not in config:
        raise TopologyError(f"{where}: the InputLayer has no batch_input_shape")
    return class_name


def _check_model_name(config: dict, where: str) -> None:
    if "name" in config and not NAME.accepts(config["name"]):
        raise TopologyError(f"{where}: the model name must be {NAME.wants}")


def _check_sequential(config, where: str, walk: _Walk, depth: int) -> None:
    """A Sequential inside the model: a list of layers whose first declares the input shape."""
    if not isinstance(config, dict) or set(config) - {"name", "layers"}:
        raise TopologyError(f"{where}: a Sequential config holds only 'name' and 'layers'")
    _check_model_name(config, where)
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise TopologyError(f"{where}: a Sequential needs a non-empty list of layers")
    for index, entry in enumerate(layers):
        if not isinstance(entry, dict) or set(entry) - _SEQUENTIAL_LAYER_KEYS:
            raise TopologyError(f"{where}: layer {index} must hold only {sorted(_SEQUENTIAL_LAYER_KEYS)}")
        class_name = check_layer(entry, f"{where} > layer {index}", walk, depth)
        if class_name == "InputLayer" and index > 0:
            raise TopologyError(f"{where}: an InputLayer may only be a Sequential's first layer")
    first = layers[0]
    if first["class_name"] != "InputLayer" and not SHAPE.accepts(first["config"].get("batch_input_shape")):
        raise TopologyError(f"{where}: a Sequential's first layer must declare its input (batch_input_shape)")


def _node_ref(value, where: str) -> tuple[str, int, int]:
    """[layer name, node index, tensor index, kwargs?] -> (name, node, tensor)."""
    if (
        not isinstance(value, list)
        or len(value) not in (3, 4)
        or not isinstance(value[0], str)
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_MODEL_LAYERS for v in value[1:3])
    ):
        raise TopologyError(
            f"{where}: a connection must be [layer name, node index, tensor index, {{}}], not {_shown(value)}"
        )
    if len(value) == 4:
        kwargs = value[3]
        if not isinstance(kwargs, dict) or not all(
            key in _CALL_KWARGS and _CALL_KWARGS[key].accepts(item) for key, item in kwargs.items()
        ):
            raise TopologyError(f"{where}: a connection's call arguments may only be {sorted(_CALL_KWARGS)}")
    return value[0], value[1], value[2]


def _check_functional(config, where: str, walk: _Walk, depth: int) -> None:
    """A graph of layers: each connection names a node that exists, inputs are InputLayers, no cycles."""
    if not isinstance(config, dict) or set(config) != {"name", "layers", "input_layers", "output_layers"}:
        raise TopologyError(
            f"{where}: a functional model's config holds exactly name, layers, input_layers and output_layers"
        )
    _check_model_name(config, where)
    layers = config["layers"]
    if not isinstance(layers, list) or not layers:
        raise TopologyError(f"{where}: the model has no layers")
    classes: dict[str, str] = {}
    outputs: dict[str, int] = {}  # layer name -> how many tensors one call returns
    calls: dict[str, list] = {}  # layer name -> its inbound nodes, in order
    for index, entry in enumerate(layers):
        if not isinstance(entry, dict) or set(entry) != _GRAPH_LAYER_KEYS:
            raise TopologyError(f"{where}: layer {index} must hold exactly {sorted(_GRAPH_LAYER_KEYS)}")
        name = entry["name"]
        if not NAME.accepts(name) or not isinstance(entry["config"], dict) or entry["config"].get("name") != name:
            raise TopologyError(f"{where}: layer {index} needs a name ({NAME.wants}) matching its config's name")
        if name in classes:
            raise TopologyError(f"{where}: two layers are named {name!r}")
        classes[name] = check_layer(entry, f"{where} > {name}", walk, depth)
        nested = entry["config"]
        outputs[name] = len(nested["output_layers"]) if classes[name] in FUNCTIONAL else 1
        nodes = entry["inbound_nodes"]
        if not isinstance(nodes, list) or (classes[name] == "InputLayer") != (not nodes):
            raise TopologyError(
                f"{where} > {name}: an InputLayer has no inbound nodes and every other layer has at least one"
            )
        calls[name] = [[_node_ref(ref, f"{where} > {name}") for ref in _listed(node, where, name)] for node in nodes]
    inputs = [_node_ref(ref, f"{where} input_layers") for ref in _listed(config["input_layers"], where, "input_layers")]
    if not inputs or any(
        classes.get(name) != "InputLayer" or (node, tensor) != (0, 0) for name, node, tensor in inputs
    ):
        raise TopologyError(
            f"{where}: input_layers must name the model's InputLayers (found "
            f"{_shown([ref[0] for ref in inputs])}); a model without an InputLayer is refused"
        )
    targets = [_node_ref(ref, f"{where} output_layers") for ref in _listed(config["output_layers"], where, "outputs")]
    if not targets:
        raise TopologyError(f"{where}: output_layers is empty")
    _check_graph(classes, outputs, calls, inputs + targets, where)


def _listed(value, where: str, what: str) -> list:
    if not isinstance(value, list) or len(value) > MAX_MODEL_LAYERS:
        raise TopologyError(f"{where} > {what}: expected a list")
    return value


def _check_graph(classes: dict, outputs: dict, calls: dict, ends: list, where: str) -> None:
    """Every connection names an existing node and tensor, and the nodes form a DAG (Kahn's algorithm).

    Node ids follow Keras: an InputLayer has node 0; a model inside the model has its own node 0 (input to output,
    not listed) so its listed calls are nodes 1..n; any other layer's listed calls are nodes 0..n-1.
    """
    first = {name: 1 if cls in CONTAINERS else 0 for name, cls in classes.items()}
    depends: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for name, cls in classes.items():
        if cls == "InputLayer" or cls in CONTAINERS:
            depends[(name, 0)] = []
        for offset, node in enumerate(calls[name]):
            depends[(name, first[name] + offset)] = [(ref, index) for ref, index, _ in node]

    def exists(ref: str, index: int, tensor: int) -> bool:
        return (ref, index) in depends and tensor < outputs[ref]

    for name in classes:
        for node in calls[name]:
            for ref, index, tensor in node:
                if not exists(ref, index, tensor):
                    raise TopologyError(
                        f"{where} > {name}: it is connected to {ref!r} node {index} tensor {tensor}, "
                        "which does not exist"
                    )
    for ref, index, tensor in ends:
        if not exists(ref, index, tensor):
            raise TopologyError(
                f"{where}: an input or output names {ref!r} node {index} tensor {tensor}, which does not exist"
            )
    waiting = {node: len(set(deps)) for node, deps in depends.items()}
    users: dict[tuple[str, int], list] = {}
    for node, deps in depends.items():
        for dep in set(deps):
            users.setdefault(dep, []).append(node)
    ready = deque(node for node, count in waiting.items() if count == 0)
    placed = 0
    while ready:
        node = ready.popleft()
        placed += 1
        for user in users.get(node, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if placed != len(depends):
        raise TopologyError(f"{where}: the layers' connections form a cycle")


def _check_training_config(training) -> None:
    """What compile() recorded: an optimizer from the allow-list with numeric settings, losses and metrics by name."""
    if not isinstance(training, dict) or set(training) - {"loss", "metrics", "optimizer_config", "loss_weights"}:
        raise TopologyError("trainingConfig holds only loss, metrics, optimizer_config and loss_weights")
    optimizer = training.get("optimizer_config")
    if (
        not isinstance(optimizer, dict)
        or set(optimizer) != {"class_name", "config"}
        or optimizer["class_name"] not in OPTIMIZERS
        or not isinstance(optimizer["config"], dict)
    ):
        raise TopologyError(f"trainingConfig optimizer must be one of {', '.join(sorted(OPTIMIZERS))}")
    keys = OPTIMIZERS[optimizer["class_name"]]
    for key, value in optimizer["config"].items():
        if key not in keys or not keys[key].accepts(value):
            raise TopologyError(
                f"trainingConfig {optimizer['class_name']} {_shown(key)} is not allowed or not "
                f"{keys[key].wants if key in keys else 'known'}"
            )
    for key in ("loss", "metrics"):
        value = training.get(key)
        names = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        if key == "metrics" and value is None:
            continue
        if (
            len(names) > MAX_MODEL_LAYERS
            or not all(FUNCTION_NAME.accepts(v) for v in names)
            or (isinstance(value, dict) and not all(NAME.accepts(k) for k in value))
        ):
            raise TopologyError(f"trainingConfig {key} must name {FUNCTION_NAME.wants}, not {_shown(value)}")
    weights = training.get("loss_weights")
    if weights is not None and not (
        isinstance(weights, list) and all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights)
    ):
        raise TopologyError("trainingConfig loss_weights must be null or a list of numbers")
