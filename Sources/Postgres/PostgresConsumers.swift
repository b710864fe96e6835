import Logging
import PostgresNIO
import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A PostgreSQL store's durable consumers: one `streamkit_consumers` row per consumer (its ``ConsumerCodec``
/// encoding), shared by every node. A change runs in one transaction that first locks the store's
/// `streamkit_coordination` row (so that nodes changing consumers of one store serialize, creations included), then
/// applies ``ConsumerTable``'s rules to the rows it read.
struct PostgresConsumers: Sendable {
    let store: UUID
    let log: PostgresLog

    func consumers() async throws -> [Consumer] {
        let (store, logger) = (self.store, log.logger)
        do {
            return try await log.withConnection { connection in
                try await Self.read(store, on: connection, logger: logger, locking: false)
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: store, doing: "reading consumers")
        }
    }

    func record(_ changes: [ConsumerChange]) async throws -> [Result<Consumer?, StreamKitError>] {
        let (store, logger) = (self.store, log.logger)
        do {
            return try await log.withConnection { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        "INSERT INTO streamkit_coordination (store) VALUES (\(store)) ON CONFLICT (store) DO NOTHING",
                        logger: logger)
                    try await connection.query(
                        "SELECT 1 FROM streamkit_coordination WHERE store = \(store) FOR UPDATE", logger: logger)
                    let before = ConsumerTable(
                        try await Self.read(store, on: connection, logger: logger, locking: true))
                    var table = before
                    let outcomes = changes.map { table.apply($0) }
                    for name in Set(changes.map(\.name)) where before.consumers[name] != table.consumers[name] {
                        let nameBytes = ByteBuffer(bytes: Array(name.utf8))
                        if let consumer = table.consumers[name] {
                            let body = ByteBuffer(bytes: ConsumerCodec.encode(consumer))
                            try await connection.query(
                                """
                                INSERT INTO streamkit_consumers (store, name, body) VALUES (\(store), \(nameBytes), \(body))
                                ON CONFLICT (store, name) DO UPDATE SET body = EXCLUDED.body
                                """, logger: logger)
                        } else {
                            try await connection.query(
                                "DELETE FROM streamkit_consumers WHERE store = \(store) AND name = \(nameBytes)",
                                logger: logger)
                        }
                    }
                    return outcomes
                }
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: store, doing: "recording consumers")
        }
    }

    private static func read(
        _ store: UUID, on connection: PostgresConnection, logger: Logger, locking: Bool
    ) async throws
        -> [Consumer]
    {
        var out: [Consumer] = []
        for try await (body) in try await connection.query(
            "SELECT body FROM streamkit_consumers WHERE store = \(store) ORDER BY name", logger: logger
        ).decode(ByteBuffer.self) {
            do {
                out.append(try ConsumerCodec.decode(Array(buffer: body)))
            } catch {
                throw StreamKitError(
                    code: .corrupt,
                    message: "a streamkit_consumers row of store \(store) does not decode (offset \(error.offset))",
                    storeID: store)
            }
        }
        return out
    }
}
