/// A queue that holds at most one element per key, in the order keys first arrived: pushing an element whose key
/// is waiting replaces the older one in its place (coalescing), so a slow consumer costs memory bounded by the
/// number of keys. The statuses of a subscription (the latest per segment) in the engine's ``SubscriptionState``
/// and in the client's feeds use it; each keeps it under its own lock.
package struct CoalescingQueue<Element> {
    private var order: [String] = []
    private var head = 0
    private var pending: [String: Element] = [:]

    package init() {}

    /// Whether no element waits.
    package var isEmpty: Bool { pending.isEmpty }

    /// Elements waiting (one per key).
    package var count: Int { pending.count }

    /// Queues `element` under `key`; returns true when it replaced a waiting element of that key.
    @discardableResult
    package mutating func push(_ element: Element, key: String) -> Bool {
        if pending.updateValue(element, forKey: key) != nil { return true }
        order.append(key)
        return false
    }

    /// The element waiting longest (by its key's first arrival), or nil when none waits.
    package mutating func popFirst() -> Element? {
        while head < order.count {
            let key = order[head]
            head += 1
            if head == order.count {
                order.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
            if let element = pending.removeValue(forKey: key) { return element }
        }
        return nil
    }

    /// Drops every waiting element.
    package mutating func removeAll() {
        order.removeAll()
        pending.removeAll()
        head = 0
    }
}

extension CoalescingQueue: Sendable where Element: Sendable {}
