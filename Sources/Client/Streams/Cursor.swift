/// A type-erased, single-owner async iterator: what a transport hands to a ``ClientStream`` once the
/// stream is open.
///
/// Not `Sendable`: like any iterator, it is used by one task at a time.
final class Cursor<Element> {
    private let advance: () async throws -> Element?

    /// Wraps an iterator.
    init<Base: AsyncIteratorProtocol>(_ base: Base) where Base.Element == Element {
        var iterator = base
        advance = { try await iterator.next() }
    }

    /// Wraps a closure that returns the next element, or nil at the end.
    init(next: @escaping () async throws -> Element?) {
        advance = next
    }

    /// The next element, or nil at the end.
    func next() async throws -> Element? { try await advance() }
}
