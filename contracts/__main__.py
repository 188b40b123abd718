"""Export the JSON Schema of the envelope and of every event payload: `python -m contracts DIR`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from contracts.envelope import EventEnvelope
from contracts.registry import EVENT_MODELS, TOPIC_OF_EVENT


def export_schemas(directory: Path) -> list[Path]:
    """Write one JSON Schema file per event version, plus the envelope's; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    envelope_path = directory / "EventEnvelope.schema.json"
    envelope_path.write_text(json.dumps(EventEnvelope.model_json_schema(), indent=2) + "\n")
    written.append(envelope_path)
    for (event_type, version), model in sorted(EVENT_MODELS.items()):
        schema = model.model_json_schema()
        schema["x-event-type"] = event_type
        schema["x-event-version"] = version
        schema["x-topic"] = TOPIC_OF_EVENT[event_type]
        path = directory / f"{event_type}.v{version}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m contracts", description=__doc__)
    parser.add_argument("directory", type=Path, help="where to write the *.schema.json files")
    args = parser.parse_args()
    for path in export_schemas(args.directory):
        print(path)


if __name__ == "__main__":
    main()
