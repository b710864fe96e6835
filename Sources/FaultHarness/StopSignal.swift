import Synchronization

/// A flag set once to tell loops running in other tasks to stop.
final class StopSignal: Sendable {
    private let flag = Atomic(false)

    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
