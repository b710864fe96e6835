import FoundationEssentials
import StreamKitEngine

/// What a verified caller may use: the stores its token's scopes grant. Made once per WebSocket upgrade and
/// checked whenever a stream opens on a store.
struct StoreAccess: Sendable, Hashable {
    /// Every store: `streamkit::*`, or a server without authentication.
    static let all = StoreAccess(everyStore: true, stores: [], subject: nil, deletesEveryStore: true, deletes: [])

    /// Whether every store is granted.
    let everyStore: Bool
    /// The stores granted one by one (unused when ``everyStore``).
    let stores: Set<UUID>
    /// The token's `sub` claim, when it has one.
    let subject: String?
    /// Whether entries of every store may be deleted (`streamkit::delete:*`, or a server without authentication).
    let deletesEveryStore: Bool
    /// The stores whose entries may be deleted, one by one (`streamkit::delete:<uuid>`).
    let deletes: Set<UUID>

    /// Whether the caller may open streams on `store`.
    func allows(_ store: UUID) -> Bool {
        everyStore || stores.contains(store)
    }

    /// Whether the caller may delete entries of `store`.
    func allowsDeletion(in store: UUID) -> Bool {
        deletesEveryStore || deletes.contains(store)
    }

    /// The access granted by a token's scopes (the `scopes` array and the space-separated `scope` string together).
    ///
    /// Scopes without the `streamkit::` prefix belong to other services and are ignored. A `streamkit::` scope is
    /// `streamkit::*` or `streamkit::<uuid>`, or `streamkit::delete:*` or `streamkit::delete:<uuid>`, which grant
    /// the store and deleting its entries; anything else there is malformed and refuses the whole token, as does a
    /// token without any StreamKit scope.
    ///
    /// - Throws: `unauthorized` naming the malformed scope, or saying no store is granted.
    init(scopes: [String], subject: String?) throws(StreamKitError) {
        var everyStore = false
        var stores: Set<UUID> = []
        var deletesEveryStore = false
        var deletes: Set<UUID> = []
        for scope in scopes where scope.hasPrefix(StoreScope.prefix) {
            let deletion = scope.hasPrefix(StoreScope.deletePrefix)
            let target = scope.dropFirst(deletion ? StoreScope.deletePrefix.count : StoreScope.prefix.count)
            if target == "*" {
                everyStore = true
                deletesEveryStore = deletesEveryStore || deletion
            } else if let store = UUID(uuidString: String(target)) {
                stores.insert(store)
                if deletion { deletes.insert(store) }
            } else {
                throw StreamKitError(
                    code: .unauthorized,
                    message:
                        "malformed scope \"\(scope.prefix(64))\": expected streamkit::* or streamkit::<uuid> (or streamkit::delete:…)"
                )
            }
        }
        guard everyStore || !stores.isEmpty else {
            throw StreamKitError(
                code: .unauthorized, message: "the token grants no StreamKit store (no streamkit:: scope)")
        }
        self.init(
            everyStore: everyStore, stores: everyStore ? [] : stores, subject: subject,
            deletesEveryStore: deletesEveryStore,
            deletes: deletesEveryStore ? [] : deletes)
    }

    private init(everyStore: Bool, stores: Set<UUID>, subject: String?, deletesEveryStore: Bool, deletes: Set<UUID>) {
        self.everyStore = everyStore
        self.stores = stores
        self.subject = subject
        self.deletesEveryStore = deletesEveryStore
        self.deletes = deletes
    }
}
