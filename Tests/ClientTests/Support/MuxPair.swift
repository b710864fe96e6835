import NIOCore
import StreamKitWire
import Synchronization
import Testing

@testable import StreamKitClient

/// A client connection wired to a server-role `MuxConnection`, without a socket: the test plays the server, frame by
/// frame.
///
/// Waiting for the client's frames is a signal, not a poll: each frame the client writes wakes the waiting test.
/// The wait is bounded by a generous deadline (60 s) that only matters when the test is failing, so a loaded
/// machine never fails a passing test.
final class MuxPair: Sendable {
    let client: ClientConnection
    nonisolated(unsafe) let server = MuxConnection(role: .server, now: .now)  // Used by the test's task only.
    private let frames = ClientFrames()
    private let drain: Task<Void, Never>

    /// How long a wait for the client's frames may take before the test fails.
    static let deadline: Duration = .seconds(60)

    init() {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        client = ClientConnection(serial: 1, url: "ws://test", limits: MuxLimits(), output: continuation)
        let frames = frames
        drain = Task {
            for await frame in stream { frames.append(frame) }
            frames.end()
        }
    }

    deinit { drain.cancel() }

    /// Whether the client's writer stream ended.
    var outputEnded: Bool { frames.hasEnded }

    /// Waits for at least `count` frames from the client (none for 0) and feeds every frame written so far to the
    /// server.
    ///
    /// - Returns: The server's actions.
    func flush(_ count: Int, sourceLocation: SourceLocation = #_sourceLocation) async -> [MuxAction] {
        if !(await frames.wait(for: count, within: Self.deadline)) {
            Issue.record("the client wrote fewer than \(count) frames", sourceLocation: sourceLocation)
        }
        return frames.take().flatMap { server.receive($0, now: .now) }
    }

    /// Feeds the client's frames to the server as they come, and the server's own frames (credit) back to the
    /// client, until the server reports an action for which `until` holds.
    ///
    /// - Returns: Every server action seen.
    func serve(until: (MuxAction) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async -> [MuxAction] {
        var seen: [MuxAction] = []
        while !seen.contains(where: until) {
            guard await frames.wait(for: 1, within: Self.deadline) else {
                Issue.record("the client did not write what was expected", sourceLocation: sourceLocation)
                return seen
            }
            for frame in frames.take() {
                for action in server.receive(frame, now: .now) {
                    seen.append(action)
                    if case .send(let reply) = action { await client.receive(ByteBuffer(bytes: reply)) }
                }
            }
        }
        return seen
    }

    /// Hands a server frame to the client.
    func deliver(_ frame: [UInt8]?) async throws {
        await client.receive(ByteBuffer(bytes: try #require(frame)))
    }
}

/// The frames a client connection wrote and the test has not taken yet; wakes a test waiting for them. A `Mutex`
/// guards it.
final class ClientFrames: Sendable {
    private struct Waiter {
        let id: UInt64
        let count: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var frames: [[UInt8]] = []
        var ended = false
        var nextID: UInt64 = 0
        var waiter: Waiter?

        /// The waiter, taken, with its answer, when what it waits for is there (true) or will never come (false).
        mutating func takeReadyWaiter() -> (Waiter, Bool)? {
            guard let waiter, frames.count >= waiter.count || ended else { return nil }
            self.waiter = nil
            return (waiter, frames.count >= waiter.count)
        }
    }

    private let state = Mutex(State())

    var hasEnded: Bool { state.withLock { $0.ended } }

    func append(_ frame: [UInt8]) {
        let ready = state.withLock { state in
            state.frames.append(frame)
            return state.takeReadyWaiter()
        }
        if let (waiter, answer) = ready { waiter.continuation.resume(returning: answer) }
    }

    func end() {
        let ready = state.withLock { state in
            state.ended = true
            return state.takeReadyWaiter()
        }
        if let (waiter, answer) = ready { waiter.continuation.resume(returning: answer) }
    }

    /// Every frame written so far, taken.
    func take() -> [[UInt8]] {
        state.withLock { state in
            defer { state.frames = [] }
            return state.frames
        }
    }

    /// Waits until at least `count` frames are there; false when the output ended or `limit` passed first.
    func wait(for count: Int, within limit: Duration) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            self?.expire(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { state -> Bool? in
                if state.frames.count >= count { return true }
                if state.ended { return false }
                state.waiter = Waiter(id: id, count: count, continuation: continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.continuation.resume(returning: false)
    }
}
