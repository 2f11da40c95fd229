"""The Lambda deployment's parts, offline: the SQS flush queue (moto's in-process SQS) and both Lambda handlers
(API Gateway REST v1 / HTTP v2 through Mangum, the SQS trigger) invoked with real event shapes."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import InvalidToken

from agent.adapters.store import Store
from agent.config import Settings
from agent.core.session import AgentSession
from agent.server import create_app
from agent.server.aws import Handlers
from agent.server.queue import SqsQueue, decode_job, encode_job
from agent.server.whatsapp import FlushJob, sign
from sandbox.graph_stub import GraphStub
from tests.test_whatsapp import SECRET, TOKEN, WA_ID, config, text_payload

EVENTS = Path(__file__).parent / "fixtures" / "aws"

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")


def event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8")))


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "sa-east-1"}.items():
        monkeypatch.setenv(key, value)
    with moto.mock_aws():
        client = boto3.client("sqs", region_name="sa-east-1")
        url = client.create_queue(QueueName="conversa-flush")["QueueUrl"]
        yield client, url


@pytest.fixture
def graph() -> Iterator[GraphStub]:
    with GraphStub(token=TOKEN) as stub:
        yield stub


class Lambda:
    """The app as the Lambda deployment builds it: an SqsQueue, Mangum in front."""

    def __init__(self, settings: Settings, graph: GraphStub, sqs: tuple[Any, str]) -> None:
        client, url = sqs
        self.settings = settings
        self.queue = SqsQueue(url, client, secret=SECRET)
        self.handlers = Handlers(create_app(settings, config=config(graph), queue=self.queue, warm=False))

    def webhook(self, payload: dict[str, Any], version: str = "apigw_http_v2") -> dict[str, Any]:
        body = json.dumps(payload)
        request = event(version)
        request["body"] = body
        signature = sign(SECRET, body.encode())
        if version == "apigw_http_v2":
            request["rawPath"] = request["requestContext"]["http"]["path"] = "/webhook/whatsapp"
            request["headers"].update({"x-hub-signature-256": signature, "content-length": str(len(body))})
        else:
            request["path"] = "/webhook/whatsapp"
            request["headers"]["X-Hub-Signature-256"] = signature
            request["multiValueHeaders"]["X-Hub-Signature-256"] = [signature]
        return self.handlers.http(request, None)

    def turns(self) -> int:
        chats = Store.open(self.settings.database_url).list_chats(5, None)
        return len(AgentSession.load(self.settings, int(chats[0]["id_chat"])).traces) if chats else 0


def test_sqs_debounces_bursts_across_invocations(settings: Settings, graph: GraphStub,
                                                 sqs: tuple[Any, str], database_url: str) -> None:
    aws = Lambda(settings.with_changes(database_url=database_url, burst_window_s=1.0), graph, sqs)
    for i, text in enumerate(["oi", "tudo bem?", "queria uma informação"]):
        assert aws.webhook(text_payload(text, f"wamid.sqs{i}"))["statusCode"] == 200
    ran = 0
    deadline = time.monotonic() + 60
    while ran < 3 and time.monotonic() < deadline:  # the messages carry a 1 s delay
        ran += aws.queue.poll(wait_s=1)
    assert ran == 3 and aws.turns() == 1  # three jobs, one answer
    first = len(graph.sent)
    assert first > 0
    aws.webhook(text_payload("sim, aceito", "wamid.sqs3"), version="apigw_rest_v1")
    while aws.queue.poll(wait_s=1) == 0 and time.monotonic() < deadline:
        pass
    assert aws.turns() == 2 and len(graph.sent) > first


def test_http_handler_serves_rest_v1_and_http_v2_events(settings: Settings, graph: GraphStub,
                                                        sqs: tuple[Any, str]) -> None:
    aws = Lambda(settings, graph, sqs)
    for name in ("apigw_rest_v1", "apigw_http_v2"):
        response = aws.handlers.http(event(name), None)
        assert response["statusCode"] == 200, response
        body = json.loads(response["body"])
        assert body["replies"] and body["chat_id"] > 0
    health = event("apigw_rest_v1")
    health.update({"path": "/health", "httpMethod": "GET", "body": None})
    assert json.loads(aws.handlers.http(health, None)["body"])["status"] == "ok"
    unsigned = event("apigw_http_v2")
    unsigned["rawPath"] = unsigned["requestContext"]["http"]["path"] = "/webhook/whatsapp"
    assert aws.handlers.http(unsigned, None)["statusCode"] == 401


def test_flush_handler_runs_the_sqs_records(settings: Settings, graph: GraphStub, sqs: tuple[Any, str]) -> None:
    aws = Lambda(settings.with_changes(burst_window_s=900.0), graph, sqs)
    aws.webhook(text_payload("oi", "wamid.flush0"))
    client, url = sqs
    # The job waits in SQS for its window (900 s, SQS's longest delay); the trigger's event carries its body.
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    chats = Store.open(settings.database_url).list_chats(5, None)
    body = encode_job(FlushJob(int(chats[0]["id_chat"]), 1, WA_ID), SECRET)
    records = copy.deepcopy(event("sqs"))
    records["Records"][0]["body"] = body
    broken = copy.deepcopy(records["Records"][0])
    broken.update({"messageId": "broken-1", "body": "{not json"})
    records["Records"].append(broken)
    result = aws.handlers.flush(records, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "broken-1"}]}
    assert aws.turns() == 1 and graph.sent and {m["to"] for m in graph.sent} == {WA_ID}
    # Delivered again (SQS is at-least-once): nothing more.
    sent_before = len(graph.sent)
    assert aws.handlers.flush(records, None)["batchItemFailures"] == [{"itemIdentifier": "broken-1"}]
    assert aws.turns() == 1 and len(graph.sent) == sent_before
    assert decode_job(body, SECRET).chat_id == int(chats[0]["id_chat"])


def test_an_sqs_job_never_carries_the_number_in_clear(settings: Settings, graph: GraphStub,
                                                      sqs: tuple[Any, str]) -> None:
    """The job's body holds the chat, its generation and the customer's number sealed under the app secret: the
    number is in no message SQS stores, and the flush still sends the replies to it."""
    aws = Lambda(settings.with_changes(burst_window_s=0.0), graph, sqs)
    aws.webhook(text_payload("oi", "wamid.sealed0"))
    client, url = sqs
    messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert len(messages) == 1
    body = messages[0]["Body"]
    assert WA_ID not in body and WA_ID[-8:] not in body
    assert set(json.loads(body)) == {"chat_id", "generation", "to"}
    with pytest.raises(InvalidToken):
        decode_job(body, "another-secret")
    records = copy.deepcopy(event("sqs"))
    records["Records"][0]["body"] = body
    assert aws.handlers.flush(records, None) == {"batchItemFailures": []}
    assert aws.turns() == 1 and {m["to"] for m in graph.sent} == {WA_ID}
    with pytest.raises(ValueError, match="app secret"):
        SqsQueue(url, client, secret="")
