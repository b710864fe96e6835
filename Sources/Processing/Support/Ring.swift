/// A growable first-in first-out ring buffer. Not thread-safe: it lives inside a lock or an iterator.
///
/// Every user of `Ring` bounds its length itself (backpressure or a drop policy); the ring only grows
/// to the largest length it has held.
@usableFromInline
struct Ring<Element> {
    @usableFromInline var slots: [Element?]
    @usableFromInline var head = 0
    @usableFromInline var count = 0

    @inlinable
    init(capacity: Int = 0) {
        slots = Array(repeating: nil, count: Swift.max(capacity, 0))
    }

    @inlinable
    var isEmpty: Bool { count == 0 }

    @inlinable
    var first: Element? { count == 0 ? nil : slots[head] }

    @inlinable
    mutating func append(_ element: Element) {
        if count == slots.count { grow() }
        var index = head + count
        if index >= slots.count { index -= slots.count }
        slots[index] = element
        count += 1
    }

    @inlinable
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = slots[head].take()
        head += 1
        if head == slots.count { head = 0 }
        count -= 1
        return element
    }

    @inlinable
    mutating func removeAll() {
        slots = []
        head = 0
        count = 0
    }

    @inlinable
    mutating func grow() {
        var grown = [Element?](repeating: nil, count: Swift.max(4, slots.count * 2))
        for offset in 0..<count {
            grown[offset] = slots[(head + offset) % slots.count].take()
        }
        slots = grown
        head = 0
    }
}

// MARK: - Sendable

extension Ring: Sendable where Element: Sendable {}
