import Foundation
import StreamKitClient
import StreamKitEventSourcing

/// The JSON codec, counting the events it decodes.
struct CountingCodec: EventCodec {
    let decoded = Box(0)
    private let json = JSONEventCodec<Ledger.Event>()

    func encode(_ event: Ledger.Event) throws -> (payload: [UInt8], metadata: [String: String]) {
        try json.encode(event)
    }

    func decode(_ entry: Entry) throws -> Ledger.Event {
        decoded.update { $0 += 1 }
        return try json.decode(entry)
    }
}

/// A codec of its own: events as text ("deposited 5"), the kind in the metadata key "kind".
struct TextCodec: EventCodec {
    struct Unreadable: Error {}

    func encode(_ event: Ledger.Event) throws -> (payload: [UInt8], metadata: [String: String]) {
        switch event {
        case .opened(let owner): (Array("opened \(owner)".utf8), ["kind": "opened"])
        case .deposited(let amount): (Array("deposited \(amount)".utf8), ["kind": "deposited"])
        case .withdrawn(let amount): (Array("withdrawn \(amount)".utf8), ["kind": "withdrawn"])
        }
    }

    func decode(_ entry: Entry) throws -> Ledger.Event {
        let text = String(decoding: entry.payload.bytes, as: UTF8.self)
        let argument = String(text.drop { $0 != " " }.dropFirst())
        switch entry.metadata["kind"] {
        case "opened": return .opened(owner: argument)
        case "deposited": if let amount = Int(argument) { return .deposited(amount) }
        case "withdrawn": if let amount = Int(argument) { return .withdrawn(amount) }
        default: break
        }
        throw Unreadable()
    }
}

/// A snapshot codec that cannot encode.
struct FailingSnapshotCodec: SnapshotCodec {
    struct Refused: Error {}

    func encode(_ state: Ledger) throws -> [UInt8] { throw Refused() }
    func decode(_ payload: Payload) throws -> Ledger { throw Refused() }
}

/// The `EventSourcingError` that `body` throws, or nil when it throws something else or nothing.
func eventSourcingError(_ body: () async throws -> Void) async -> EventSourcingError? {
    do {
        try await body()
        return nil
    } catch let error as EventSourcingError {
        return error
    } catch {
        return nil
    }
}

/// `count` deposits of 1, 2, 3 ….
func deposits(_ count: Int, from first: Int = 1) -> [Ledger.Event] {
    (first..<(first + count)).map { .deposited($0) }
}
