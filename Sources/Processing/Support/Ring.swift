/// A growable first-in first-out ring buffer. Not thread-safe: it lives inside a lock or an iterator.
///
/// Every user of `Ring` bounds its length itself (backpressure or a drop policy); the ring only grows
/// to the largest length it has held.
struct Ring<Element> {
    private var slots: [Element?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int = 0) {
        slots = Array(repeating: nil, count: Swift.max(capacity, 0))
    }

    var isEmpty: Bool { count == 0 }

    var first: Element? { count == 0 ? nil : slots[head] }

    mutating func append(_ element: Element) {
        if count == slots.count { grow() }
        slots[(head + count) % slots.count] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = slots[head]
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        return element
    }

    mutating func removeAll() {
        slots = []
        head = 0
        count = 0
    }

    private mutating func grow() {
        var grown = [Element?](repeating: nil, count: Swift.max(4, slots.count * 2))
        for offset in 0..<count {
            grown[offset] = slots[(head + offset) % slots.count]
        }
        slots = grown
        head = 0
    }
}

// MARK: - Sendable

extension Ring: Sendable where Element: Sendable {}
