"""The relay's next Kafka transaction, refused while the broker still writes the markers of the
one before (CONCURRENT_TRANSACTIONS), is asked for again after 2 ms, not aiokafka's 20 ms
(shared.bus.kafka.CONCURRENT_TRANSACTIONS_BACKOFF_S). Checked on aiokafka's own handler of the
AddPartitionsToTxn answer, so an aiokafka that stops reading the setting fails here."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka.errors import ConcurrentTransactions
from aiokafka.producer.sender import AddPartitionsToTxnHandler
from aiokafka.structs import TopicPartition

from shared.bus.kafka import CONCURRENT_TRANSACTIONS_BACKOFF_S


def test_a_new_transaction_refused_while_markers_are_written_is_asked_again_soon() -> None:
    assert CONCURRENT_TRANSACTIONS_BACKOFF_S < 0.02  # aiokafka's own
    sender = SimpleNamespace(
        _retry_backoff=0.1,
        _txn_manager=SimpleNamespace(txn_partitions=set()),  # the transaction's first partition
    )
    handler = AddPartitionsToTxnHandler(sender, [TopicPartition("kuaiche.registry", 0)])
    answer = SimpleNamespace(errors=[("kuaiche.registry", [(0, ConcurrentTransactions.errno)])])
    assert handler.handle_response(answer) == CONCURRENT_TRANSACTIONS_BACKOFF_S
