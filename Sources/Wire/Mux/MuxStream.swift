/// Per-stream bookkeeping inside ``MuxConnection``: state, credit both ways, and the sizes of received messages
/// the application has not consumed yet.
struct MuxStream {
    var localClosed = false
    var remoteClosed = false
    /// Credit the peer gave us.
    var sendMessages = 0
    var sendBytes = 0
    /// Credit we gave the peer that it has not used yet (bytes may be below zero by one frame's overshoot).
    var recvMessages = 0
    var recvBytes = 0
    /// Sizes of delivered, unconsumed messages, oldest first (from `pendingHead`).
    private var pendingSizes: [Int] = []
    private var pendingHead = 0
    private(set) var pendingBytes = 0

    var pendingCount: Int { pendingSizes.count - pendingHead }

    var canSend: Bool { !localClosed && sendMessages >= 1 && sendBytes > 0 }

    var state: MuxStreamState {
        switch (localClosed, remoteClosed) {
        case (false, false): .open
        case (true, false): .halfClosedLocal
        case (false, true): .halfClosedRemote
        case (true, true): .closed
        }
    }

    /// Finished on both sides with nothing left for the application: the record can go.
    var isDone: Bool { localClosed && remoteClosed && pendingCount == 0 }

    mutating func push(_ size: Int) {
        pendingSizes.append(size)
        pendingBytes += size
    }

    /// Removes up to `count` of the oldest pending messages; returns their bytes.
    mutating func pop(_ count: Int) -> Int {
        let taken = min(max(0, count), pendingCount)
        var bytes = 0
        for index in pendingHead..<(pendingHead + taken) { bytes += pendingSizes[index] }
        pendingHead += taken
        pendingBytes -= bytes
        if pendingHead == pendingSizes.count {
            pendingSizes.removeAll(keepingCapacity: true)
            pendingHead = 0
        }
        return bytes
    }
}
