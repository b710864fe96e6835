import StreamKitEventSourcing

/// The aggregate of the event-sourcing tests: an owner, a balance, and the log of every event applied in order.
struct Ledger: Aggregate, Codable, Equatable {
    enum Event: Codable, Sendable, Equatable {
        case opened(owner: String)
        case deposited(Int)
        case withdrawn(Int)
    }

    var owner = ""
    var balance = 0
    /// Every event applied, in order, as text ("d5", "w2" …).
    var log: [String] = []

    mutating func apply(_ event: Event) {
        switch event {
        case .opened(let owner):
            self.owner = owner
            log.append("o:\(owner)")
        case .deposited(let amount):
            balance += amount
            log.append("d\(amount)")
        case .withdrawn(let amount):
            balance -= amount
            log.append("w\(amount)")
        }
    }

    /// The ledger that `events` fold into.
    static func folding(_ events: [Event]) -> Ledger {
        var ledger = Ledger()
        for event in events { ledger.apply(event) }
        return ledger
    }
}
