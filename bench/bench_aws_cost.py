"""What 1,000 conversations cost on the serverless deployment (Lambda + API Gateway HTTP API + SQS).

Prices, the conversation's shape and Lambda's memory come from ``bench/aws_costs.yaml`` (dated, with their
sources); the durations from ``bench/results/server.json`` when ``bench/bench_server.py`` ran here, else the
timings recorded in the yaml (``--recorded`` forces those). Prints every step of the computation; the agent's
own model calls (the ledger, the Costs page) are not included — on local/rules they cost nothing.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "aws_costs.yaml"
MEASURED = ROOT / "bench" / "results" / "server.json"
CONVERSATIONS = 1000


def timings(data: dict[str, Any], recorded_only: bool) -> dict[str, Any]:
    """Durations in ms: this machine's last bench_server run, or the yaml's recorded ones."""
    if not recorded_only and MEASURED.is_file():
        run = json.loads(MEASURED.read_text(encoding="utf-8"))
        return {"measured_at": run["measured_at"], "machine": f"{run['cores']} core(s), bench/results/server.json",
                "post_chat_p50_ms": run["levels"][0]["p50_ms"], "webhook_ack_p50_ms": run["webhook"]["ack_p50_ms"],
                "webhook_to_reply_p50_ms": run["webhook"]["p50_ms"], "peak_rss_mb": run.get("peak_rss_mb")}
    return dict(data["recorded"])


def lambda_cost(invocations: float, duration_ms: float, data: dict[str, Any]) -> tuple[float, float, float]:
    """(GB-s, USD for duration, USD for requests) of ``invocations`` each billed ``duration_ms``."""
    prices, config = data["prices"]["lambda"], data["lambda"]
    step = prices["billing_increment_ms"]
    billed_ms = math.ceil(duration_ms / step) * step
    gb_s = invocations * (config["memory_mb"] / 1024) * billed_ms / 1000
    return gb_s, gb_s * prices["gb_second"][config["architecture"]], invocations * prices["requests_per_million"] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recorded", action="store_true", help="use the yaml's recorded timings")
    args = parser.parse_args()
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    t = timings(data, args.recorded)
    prices, conv, config = data["prices"], data["conversation"], data["lambda"]
    scale = max(1.0, config["full_vcpu_mb"] / config["memory_mb"])
    messages = CONVERSATIONS * conv["customer_messages"]
    statuses = messages * conv["replies_per_message"] * conv["status_callbacks_per_reply"]
    apigw = prices["api_gateway_http"]["requests_per_million"] / 1e6
    sqs = prices["sqs_standard"]["requests_per_million"] / 1e6
    print(f"Prices: {prices['region']}, checked {prices['checked_on']} (bench/aws_costs.yaml; sources there)")
    print(f"Timings: {t['measured_at']} — {t['machine']}; × {scale:.2f} for Lambda's CPU at {config['memory_mb']} MB")
    print(f"{CONVERSATIONS} conversations × {conv['customer_messages']} customer messages = {messages} messages\n")

    ack = t["webhook_ack_p50_ms"] * scale
    turn = max(t["webhook_to_reply_p50_ms"] - t["webhook_ack_p50_ms"], 0.0) * scale
    rows = [("webhook calls (messages)", messages, ack), ("webhook calls (status callbacks)", statuses, ack),
            ("flush (SQS → the turn, Graph send)", messages, turn)]
    total = 0.0
    print("WhatsApp (API Gateway → http_handler, SQS → flush_handler):")
    for label, n, ms in rows:
        gb_s, duration, requests = lambda_cost(n, ms, data)
        total += duration + requests
        print(f"  Lambda {label:<36} {n:>7} × {ms:7.2f} ms = {gb_s:9.2f} GB-s  US$ {duration:.5f} "
              f"+ requests US$ {requests:.5f}")
    gateway = (messages + statuses) * apigw
    queue = messages * conv["sqs_requests_per_flush"] * sqs
    total += gateway + queue
    print(f"  API Gateway HTTP API {messages + statuses:>7} requests                          US$ {gateway:.5f}")
    print(f"  SQS {messages * conv['sqs_requests_per_flush']:>7} requests                                           "
          f"US$ {queue:.5f}")
    print(f"  = US$ {total:.4f} per {CONVERSATIONS} conversations (US$ {total / CONVERSATIONS:.7f} each)\n")

    chat_ms = t["post_chat_p50_ms"] * scale
    gb_s, duration, requests = lambda_cost(messages, chat_ms, data)
    widget = duration + requests + messages * apigw
    print("POST /chat (a web widget; no queue, no status callbacks):")
    print(f"  Lambda {messages} × {chat_ms:.2f} ms = {gb_s:.2f} GB-s  US$ {duration:.5f} + requests US$ {requests:.5f}; "
          f"API Gateway US$ {messages * apigw:.5f}")
    print(f"  = US$ {widget:.4f} per {CONVERSATIONS} conversations\n")
    rss = t.get("peak_rss_mb")
    print("Not included: the model providers' tokens (the Costs page), PostgreSQL (RDS/Aurora), data transfer, "
          "CloudWatch logs, cold starts' init time, Lambda's idle SQS polling (a fixed monthly amount)."
          + (f" Peak server memory measured: {rss:.0f} MB of {config['memory_mb']} MB." if rss else ""))


if __name__ == "__main__":
    main()
