import StreamKitEngine
import Synchronization

/// How one handler call ended.
enum HandlerOutcome: Sendable {
    case completed
    case failed(String)
    case timedOut
}

/// Runs one subscription handler call with a timeout on the engine clock.
///
/// With a timeout, the handler runs in its own task, raced against a timer: on timeout the caller gets
/// `.timedOut` at once and the handler's task is cancelled and abandoned (a handler that ignores cancellation
/// keeps running, outside the pool). Without one (`timeout == 0`), it runs inline.
enum HandlerRun {
    static func run(
        _ handler: @escaping @Sendable (SegmentStatus) async throws -> Void, status: SegmentStatus,
        timeout: UInt64, clock: EngineClock
    ) async -> HandlerOutcome {
        guard timeout > 0 else {
            do {
                try await handler(status)
                return .completed
            } catch {
                return .failed("\(error)")
            }
        }
        let gate = OutcomeGate()
        let work = Task {
            do {
                try await handler(status)
                gate.resolve(.completed)
            } catch {
                gate.resolve(.failed("\(error)"))
            }
        }
        let timer = Task {
            do { try await clock.sleep(timeout) } catch { return }
            gate.resolve(.timedOut)
        }
        let outcome = await withTaskCancellationHandler {
            await gate.wait()
        } onCancel: {
            work.cancel()
        }
        timer.cancel()
        if case .timedOut = outcome { work.cancel() }
        return outcome
    }
}

/// The first of several racing results, handed to one waiter. A `Mutex` guards it.
final class OutcomeGate: Sendable {
    private struct State {
        var outcome: HandlerOutcome?
        var waiter: CheckedContinuation<HandlerOutcome, Never>?
    }

    private let state = Mutex(State())

    /// Records `outcome` unless one was recorded first; returns whether it won.
    @discardableResult
    func resolve(_ outcome: HandlerOutcome) -> Bool {
        let (won, waiter) = state.withLock { state -> (Bool, CheckedContinuation<HandlerOutcome, Never>?) in
            guard state.outcome == nil else { return (false, nil) }
            state.outcome = outcome
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(returning: outcome)
        return won
    }

    /// Waits for the first outcome.
    func wait() async -> HandlerOutcome {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> HandlerOutcome? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
