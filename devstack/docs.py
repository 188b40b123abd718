"""The published API documents: OpenAPI of each service and AsyncAPI of all events.

`ticketing docs docs/api` writes them; a test checks that the committed ones are current.

The AsyncAPI document is built from `contracts/` (the same models the services validate with), not
from FastStream's subscribers: those take raw bytes on purpose, so that a record that does not parse
reaches the dead-letter topic instead of failing inside the framework, and would document nothing.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.registry import EVENT_MODELS, TOPIC_OF_EVENT, key_of
from contracts.topics import TOPICS, TopicSpec
from services.catalog import CATALOG, consumed_topics


def _producer(topic: TopicSpec) -> str | None:
    """Who publishes to the topic, in words; None: every service (failed records)."""
    if topic.outside_system is not None:
        return f"{topic.outside_system} (external)"
    return topic.producer


def _key(topic: TopicSpec) -> str:
    """The topic's record key in words, from its event classes: the key most of them name (of
    keys named equally often, the first declared), then the events that name another."""
    if topic.key is not None:
        return topic.key
    keys = {
        event_type: key_of(model).words
        for (event_type, _), model in EVENT_MODELS.items()
        if topic.name == model.TOPIC
    }
    if not keys:
        return "none yet (no event class names this topic)"
    [(usual, _)] = Counter(keys.values()).most_common(1)
    others: dict[str, list[str]] = {}
    for event_type, words in sorted(keys.items()):
        if words != usual:
            others.setdefault(words, []).append(event_type)
    exceptions = "; ".join(f"{', '.join(types)}: {words}" for words, types in others.items())
    return f"{usual} ({exceptions})" if exceptions else usual


def _consumed_topics() -> dict[str, list[str]]:
    """Topic -> the consumer groups that read it."""
    readers: dict[str, list[str]] = {}
    for group, topics in consumed_topics().items():
        for topic in topics:
            readers.setdefault(topic, []).append(group)
    return readers


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document of every topic and event version."""
    readers = _consumed_topics()
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    producers = {spec.name: _producer(spec) for spec in TOPICS}
    for spec in TOPICS:
        channels[spec.name] = {
            "address": spec.name,
            "description": f"Key: {_key(spec)}. Produced by "
            f"{producers[spec.name] or 'every service (failed records)'}; read by "
            f"{', '.join(sorted(readers.get(spec.name, []))) or 'operators'}.",
            "messages": {},
        }
    for (event_type, version), model in sorted(EVENT_MODELS.items()):
        name = f"{event_type}.v{version}"
        topic = TOPIC_OF_EVENT[event_type]
        messages[name] = {
            "name": event_type,
            "title": f"{event_type} v{version}",
            "summary": (model.__doc__ or "").strip().split("\n")[0],
            "description": "The record value is an EventEnvelope (components/schemas) with "
            f"event_type '{event_type}', event_version {version}, and this payload.",
            "contentType": "application/json",
            "payload": model.model_json_schema(),
        }
        channels[topic]["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for topic, channel in channels.items():
        refs = [{"$ref": f"#/channels/{topic}/messages/{m}"} for m in channel["messages"]]
        if producers[topic] and refs:
            operations[f"publish-{topic}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{topic}"},
                "summary": f"{producers[topic]} publishes",
                "messages": refs,
            }
        for group in sorted(readers.get(topic, [])):
            operations[f"{group}-reads-{topic}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{topic}"},
                "summary": f"consumer group '{group}'",
                "messages": refs,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Ticketing: events",
            "version": "1.0.0",
            "description": "Every event the support-portal backend publishes or reads. Readers "
            "ignore unknown fields; a new incompatible shape is a new event version.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {"EventEnvelope": EventEnvelope.model_json_schema()},
        },
    }


def openapi(service: str) -> dict[str, Any]:
    """The OpenAPI document of one service (built without connecting to anything)."""
    entry = CATALOG[service]
    module = importlib.import_module(f"services.{service}.settings")
    settings = getattr(module, entry.settings_class)(
        database_url="postgresql://docs@localhost/docs", environment="development"
    )
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    document: dict[str, Any] = app.openapi()
    return document


def render_all() -> dict[str, str]:
    """File name -> content of every published document."""
    documents = {f"{name}.openapi.json": openapi(name) for name in CATALOG}
    documents["events.asyncapi.json"] = asyncapi()
    return {
        name: json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, doc in documents.items()
    }
