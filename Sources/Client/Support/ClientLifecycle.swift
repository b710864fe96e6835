import Synchronization

/// Whether a client is open, closing or closed. A `Mutex` guards the state.
final class ClientLifecycle: Sendable {
    enum Phase {
        case open
        case closing(Task<Void, Never>)
        case closed
    }

    private let phase = Mutex(Phase.open)

    /// True until ``StreamKitClient/close()`` begins: new operations are accepted.
    var isOpen: Bool {
        phase.withLock { if case .open = $0 { true } else { false } }
    }

    /// True once close has finished: in-flight retries stop too.
    var isClosed: Bool {
        phase.withLock { if case .closed = $0 { true } else { false } }
    }

    /// Runs `shutdown` once; later and concurrent calls wait for it.
    func close(_ shutdown: @escaping @Sendable () async -> Void) async {
        let (task, first) = phase.withLock { phase -> (Task<Void, Never>?, Bool) in
            switch phase {
            case .open:
                let task = Task { await shutdown() }
                phase = .closing(task)
                return (task, true)
            case .closing(let task):
                return (task, false)
            case .closed:
                return (nil, false)
            }
        }
        await task?.value
        if first { phase.withLock { $0 = .closed } }
    }
}
