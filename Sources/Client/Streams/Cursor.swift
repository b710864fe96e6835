/// A type-erased, single-owner async iterator: what a transport hands to a ``ClientStream`` once the
/// stream is open.
///
/// Not `Sendable`: like any iterator, it is used by one task at a time.
final class Cursor<Element> {
    private let advance: () async throws -> [Element]?

    /// Wraps an iterator (one element per batch).
    init<Base: AsyncIteratorProtocol>(_ base: Base) where Base.Element == Element {
        var iterator = base
        advance = { try await iterator.next().map { [$0] } }
    }

    /// Wraps a closure that returns the next element, or nil at the end (one element per batch).
    init(next: @escaping () async throws -> Element?) {
        advance = { try await next().map { [$0] } }
    }

    /// Wraps a closure that returns the next elements (at least one), or nil at the end: a stream hands them
    /// out one by one without calling back per element.
    init(batches: @escaping () async throws -> [Element]?) {
        advance = batches
    }

    /// The next elements (at least one), or nil at the end.
    nonisolated(nonsending) func nextBatch() async throws -> [Element]? { try await advance() }
}
