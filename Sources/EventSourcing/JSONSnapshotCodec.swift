public import StreamKitClient

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Stores a `Codable` aggregate's snapshots as JSON (`JSONEncoder`'s default settings).
public struct JSONSnapshotCodec<State: Codable & Sendable>: SnapshotCodec {
    /// Creates a codec.
    public init() {}

    /// Encodes the state as JSON.
    ///
    /// - Parameter state: The state.
    /// - Returns: The JSON bytes.
    /// - Throws: `EncodingError` when the state cannot be encoded.
    public func encode(_ state: State) throws -> [UInt8] {
        Array(try JSONEncoder().encode(state))
    }

    /// Decodes a state from JSON.
    ///
    /// - Parameter payload: The snapshot's payload.
    /// - Returns: The state.
    /// - Throws: `DecodingError` when the payload is not a `State` in JSON.
    public func decode(_ payload: Payload) throws -> State {
        try JSONDecoder().decode(State.self, from: payload.withUnsafeBytes { Data($0) })
    }
}
