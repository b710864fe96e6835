public import FoundationEssentials

/// Which stores a token grants: the `scopes` claim of a StreamKit token (`docs/protocol.md`, Authentication).
public enum StoreScope: Sendable, Hashable {
    /// Every store (`streamkit::*`).
    case all
    /// These stores only (`streamkit::<uuid>` each).
    case stores([UUID])

    /// The scope prefix every StreamKit scope starts with.
    static let prefix = "streamkit::"

    /// The scope strings of the claim, e.g. `["streamkit::*"]`, UUIDs lowercased.
    var claimValues: [String] {
        switch self {
        case .all:
            return [Self.prefix + "*"]
        case .stores(let stores):
            return stores.map { Self.prefix + $0.uuidString.lowercased() }
        }
    }
}
