import Foundation
import PostgresNIO

/// The `postgres-raw` peer's one prepared statement: a batch of records inserted as plain rows, one row per
/// record, in one parameterised `INSERT … SELECT FROM unnest(…)` (one round trip, its own transaction).
struct PostgresRawInsert: PostgresPreparedStatement {
    typealias Row = Int64

    static let name = "streamkit_bench_raw_insert"
    static let sql = """
        INSERT INTO \(PostgresRawPeer.table) (store, segment, sequence, position, timestamp, payload)
        SELECT $1, $2, r.sequence, r.position, r.timestamp, r.payload
        FROM unnest($3::int8[], $4::int8[], $5::int8[], $6::bytea[]) AS r(sequence, position, timestamp, payload)
        """
    static var bindingDataTypes: [PostgresDataType] { [.uuid, .text, .int8Array, .int8Array, .int8Array, .byteaArray] }

    var store: UUID
    var segment: String
    var sequences: [Int64]
    var positions: [Int64]
    var timestamps: [Int64]
    var payloads: [ByteBuffer]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(store)
        bindings.append(segment)
        bindings.append(sequences)
        bindings.append(positions)
        bindings.append(timestamps)
        bindings.append(payloads)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}
