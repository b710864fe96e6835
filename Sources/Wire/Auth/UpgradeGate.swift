import Synchronization

/// The authentication outcome of one HTTP connection's upgrade request, shared by the closures of its upgrade
/// pipeline: `shouldUpgrade` records it, then either the WebSocket pipeline takes the caller's ``StoreAccess``
/// or the refusal handler answers 401 (refused token) or 404 (anything else).
final class UpgradeGate: Sendable {
    private enum State {
        /// No upgrade request was checked (not an upgrade, or another path).
        case pending
        /// The token verified.
        case allowed(StoreAccess)
        /// The token is missing or does not verify.
        case unauthorized
    }

    private let state = Mutex(State.pending)

    /// Records a verified caller.
    func allow(_ access: StoreAccess) {
        state.withLock { $0 = .allowed(access) }
    }

    /// Records a refused token.
    func refuse() {
        state.withLock { $0 = .unauthorized }
    }

    /// The verified caller's access, or nil when none was recorded.
    var access: StoreAccess? {
        state.withLock { state in
            if case .allowed(let access) = state { return access }
            return nil
        }
    }

    /// Whether the request was refused for its token (HTTP 401) rather than not being a StreamKit upgrade.
    var isUnauthorized: Bool {
        state.withLock { state in
            if case .unauthorized = state { return true }
            return false
        }
    }
}
