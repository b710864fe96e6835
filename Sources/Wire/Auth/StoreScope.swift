public import FoundationEssentials

/// Which stores a token grants: the `scopes` claim of a StreamKit token (`docs/protocol.md`, Authentication).
public enum StoreScope: Sendable, Hashable {
    /// Every store (`streamkit::*`).
    case all
    /// These stores only (`streamkit::<uuid>` each).
    case stores([UUID])

    /// The scope prefix every StreamKit scope starts with.
    static let prefix = "streamkit::"
    /// The prefix of a scope that also grants deleting entries: `streamkit::delete:*`, `streamkit::delete:<uuid>`.
    static let deletePrefix = prefix + "delete:"

    /// The scope strings of the claim, e.g. `["streamkit::*"]`, UUIDs lowercased.
    var claimValues: [String] { claimValues(prefix: Self.prefix) }

    /// The scope strings that also grant deleting entries in the same stores, e.g. `["streamkit::delete:*"]`.
    var deletionClaimValues: [String] { claimValues(prefix: Self.deletePrefix) }

    private func claimValues(prefix: String) -> [String] {
        switch self {
        case .all:
            return [prefix + "*"]
        case .stores(let stores):
            return stores.map { prefix + $0.uuidString.lowercased() }
        }
    }
}
