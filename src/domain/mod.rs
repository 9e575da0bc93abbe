//! WHM's data, apart from the HTTP client: session states and options, the remote
//! analysis, the destination's inventory and the typed answers of the transfer
//! functions (REFERENCE §4). `manifest`, `plan` and `report` use these without
//! depending on the client (reqwest, TLS, retries); the client decodes into them.
//!
//! Every type is lenient about WHM's number/string/null habits (REFERENCE §8), through
//! the helpers of [`lenient`].

mod analysis;
mod inventory;
pub mod lenient;
mod request;
mod state;
mod types;

pub use analysis::{
    AnalysisConfig, AnalysisItems, AnalysisOptions, DbInventory, LocalFacts, ModuleAnalysis,
    RemoteAnalysis, RemoteFacts, SourceAccount, SourcePackage,
};
pub use inventory::{Account, AccountQuery, Package, PackageFilter};
pub use request::{
    CredentialCheckRequest, RootSessionRequest, SessionOptions, SourceLogin, UserSessionRequest,
};
pub use state::SessionState;
/// The answers' `data` shapes only the client decodes.
pub(crate) mod wire {
    pub(crate) use super::inventory::{AcctData, FeatureListsData, PkgData, PopsData};
    pub(crate) use super::types::{
        LocalRestoreData, ModulesData, PidData, RestoreModulesData, SchemaData, StateData,
    };
}
pub use types::{
    ArchiveCleanup, CreatedSession, CredentialCheck, KeyDef, LocalRestoreRequest, RestoreModule,
    SystemUserCheck, TransferModuleSchema,
};
