"""Two of the Kafka bus's settings that aiokafka's defaults get wrong for us.

The relay's next Kafka transaction, refused while the broker still writes the markers of the
one before (CONCURRENT_TRANSACTIONS), is asked for again after 2 ms, not aiokafka's 20 ms
(shared.bus.kafka.CONCURRENT_TRANSACTIONS_BACKOFF_S). Checked on aiokafka's own handler of the
AddPartitionsToTxn answer, so an aiokafka that stops reading the setting fails here."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka.errors import ConcurrentTransactions
from aiokafka.producer.sender import AddPartitionsToTxnHandler
from aiokafka.structs import TopicPartition

from shared.bus.kafka import CONCURRENT_TRANSACTIONS_BACKOFF_S, FETCH_MAX_WAIT_MS, KafkaConsumer


def test_a_new_transaction_refused_while_markers_are_written_is_asked_again_soon() -> None:
    assert CONCURRENT_TRANSACTIONS_BACKOFF_S < 0.02  # aiokafka's own
    sender = SimpleNamespace(
        _retry_backoff=0.1,
        _txn_manager=SimpleNamespace(txn_partitions=set()),  # the transaction's first partition
    )
    handler = AddPartitionsToTxnHandler(sender, [TopicPartition("kuaiche.registry", 0)])
    answer = SimpleNamespace(errors=[("kuaiche.registry", [(0, ConcurrentTransactions.errno)])])
    assert handler.handle_response(answer) == CONCURRENT_TRANSACTIONS_BACKOFF_S


async def test_the_bus_s_consumers_wait_at_most_100_ms_for_a_partition_with_nothing_new() -> None:
    """aiokafka sends one fetch to a broker at a time, and a partition read to its end held the
    next fetch of those still being read for aiokafka's 500 ms (shared.bus.kafka)."""
    consumer = KafkaConsumer("127.0.0.1:9", "a-group", ("kuaiche.registry",), "test")
    assert FETCH_MAX_WAIT_MS == 100
    assert consumer._consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS
    await consumer.stop()  # never started: closes nothing but its client
