//! Transfer modules and their schemas (REFERENCE §6): the typed `def` strings, the bundled
//! catalog, the bundled-vs-live comparison, and the rules a queue item must meet.

pub mod catalog;
pub mod field_type;
pub mod item;
pub mod schema;

pub use catalog::{CatalogModule, ModuleCatalog, ModuleKind, SessionKind, names};
pub use field_type::{FieldKind, FieldType, FieldTypeError};
pub use item::{
    Item, ItemProblem, ItemValue, SessionContext, UniqueKeys, check_value, did_you_mean,
    enqueue_params, validate_item,
};
pub use schema::{ModuleSchema, ModuleSnapshot, SchemaDifference, SchemaKey, diff_schemas};
