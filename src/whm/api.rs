//! One typed async function per WHM API 1 call the migration uses (REFERENCE §4).

use crate::domain::wire::{
    AcctData, FeatureListsData, LocalRestoreData, ModulesData, PidData, PkgData, PopsData,
    RestoreModulesData, SchemaData, StateData,
};
use crate::domain::{
    Account, AccountQuery, ArchiveCleanup, CreatedSession, CredentialCheck, CredentialCheckRequest,
    LocalRestoreRequest, Package, PackageFilter, RemoteAnalysis, RestoreModule, RootSessionRequest,
    SessionState, SystemUserCheck, TransferModuleSchema, UserSessionRequest,
};
use crate::whm::client::{Effect, Slowness, WhmClient};
use crate::whm::error::WhmError;
use crate::whm::logtext::{LogDecoder, LogSink};
use std::collections::BTreeMap;

fn params(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

impl WhmClient {
    /// `available_transfer_modules`: module name → type id (also the processing order).
    pub async fn available_transfer_modules(&self) -> Result<BTreeMap<String, u64>, WhmError> {
        const F: &str = "available_transfer_modules";
        let env = self
            .call(F, &[], Effect::Read, Slowness::Normal, None)
            .await?;
        let data: ModulesData = env.data(self.site(F, None))?;
        Ok(data.modules.into_iter().map(|(k, v)| (k, v.0)).collect())
    }

    /// `transfer_module_schema`: the keys `enqueue_transfer_item` accepts for `module`.
    pub async fn transfer_module_schema(
        &self,
        module: &str,
    ) -> Result<TransferModuleSchema, WhmError> {
        const F: &str = "transfer_module_schema";
        let env = self
            .call(
                F,
                &[("module", module)],
                Effect::Read,
                Slowness::Normal,
                None,
            )
            .await?;
        Ok(env.data::<SchemaData>(self.site(F, None))?.schema)
    }

    /// `create_remote_root_transfer_session`: logs in to the source, analyses it and
    /// returns the new PENDING session. Slow (minutes); never retried.
    pub async fn create_remote_root_transfer_session(
        &self,
        request: &RootSessionRequest,
    ) -> Result<CreatedSession, WhmError> {
        self.create_session("create_remote_root_transfer_session", &request.form())
            .await
    }

    /// `create_remote_user_transfer_session`: a session authenticated with one cPanel
    /// account's password. Never retried.
    pub async fn create_remote_user_transfer_session(
        &self,
        request: &UserSessionRequest,
    ) -> Result<CreatedSession, WhmError> {
        self.create_session("create_remote_user_transfer_session", &request.form())
            .await
    }

    async fn create_session(
        &self,
        function: &str,
        form: &[(String, String)],
    ) -> Result<CreatedSession, WhmError> {
        let env = self
            .call(
                function,
                &params(form),
                Effect::Write,
                Slowness::CreateSession,
                None,
            )
            .await?;
        let mut created: CreatedSession = env.data(self.site(function, None))?;
        created.warnings.clone_from(&env.metadata.output.warnings);
        Ok(created)
    }

    /// `start_local_cpmove_restore`: restores a cpmove archive lying on the destination
    /// in a new session (one `AccountLocal` item, already started) and returns its id.
    /// Monitor it like any other session. Never retried: a repeat would restore twice.
    pub async fn start_local_cpmove_restore(
        &self,
        request: &LocalRestoreRequest,
    ) -> Result<String, WhmError> {
        const F: &str = "start_local_cpmove_restore";
        let owned = request.form();
        let env = self
            .call(
                F,
                &params(&owned),
                Effect::Write,
                Slowness::CreateSession,
                None,
            )
            .await?;
        Ok(env
            .data::<LocalRestoreData>(self.site(F, None))?
            .transfer_session_id)
    }

    /// `analyze_transfer_session_remote`: re-runs the source analysis of a root session.
    pub async fn analyze_transfer_session_remote(&self, session_id: &str) -> Result<(), WhmError> {
        self.call(
            "analyze_transfer_session_remote",
            &[("transfer_session_id", session_id)],
            Effect::Write,
            Slowness::CreateSession,
            Some(session_id),
        )
        .await
        .map(drop)
    }

    /// `retrieve_transfer_session_remote_analysis`: the stored analysis of a root session.
    pub async fn retrieve_transfer_session_remote_analysis(
        &self,
        session_id: &str,
    ) -> Result<RemoteAnalysis, WhmError> {
        self.on_session(
            "retrieve_transfer_session_remote_analysis",
            session_id,
            Effect::Read,
        )
        .await
    }

    /// `remote_basic_credential_check`: tests credentials for a source without a session.
    pub async fn remote_basic_credential_check(
        &self,
        request: &CredentialCheckRequest,
    ) -> Result<CredentialCheck, WhmError> {
        const F: &str = "remote_basic_credential_check";
        let owned = request.form();
        let env = self
            .call(
                F,
                &params(&owned),
                Effect::Login,
                Slowness::CreateSession,
                None,
            )
            .await?;
        let mut check: CredentialCheck = env.data(self.site(F, None))?;
        check.message.clone_from(&env.metadata.reason);
        Ok(check)
    }

    /// `validate_system_user`: whether a user name can be used on the destination.
    pub async fn validate_system_user(&self, user: &str) -> Result<SystemUserCheck, WhmError> {
        const F: &str = "validate_system_user";
        let env = self
            .call(F, &[("user", user)], Effect::Read, Slowness::Normal, None)
            .await?;
        env.data(self.site(F, None))
    }

    /// `enqueue_transfer_item`: adds one item. `keys` must hold only keys of the
    /// module's schema that are meant to be set. Never retried here. A refusal is an
    /// error whatever its reason: WHM refuses a second item with the same key, but its
    /// wording is not read (REFERENCE §8), so only the caller, who knows whether an
    /// earlier call may have landed, can tell what a refusal means.
    pub async fn enqueue_transfer_item(
        &self,
        session_id: &str,
        module: &str,
        keys: &[(String, String)],
    ) -> Result<(), WhmError> {
        let mut form = vec![("transfer_session_id", session_id), ("module", module)];
        form.extend(keys.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.call(
            "enqueue_transfer_item",
            &form,
            Effect::Write,
            Slowness::Normal,
            Some(session_id),
        )
        .await
        .map(drop)
    }

    /// `start_transfer_session`: starts (or resumes a paused) session; returns the
    /// master pid. On a running session it returns the same pid and changes nothing.
    pub async fn start_transfer_session(&self, session_id: &str) -> Result<Option<u64>, WhmError> {
        let data: PidData = self
            .on_session("start_transfer_session", session_id, Effect::Write)
            .await?;
        Ok(data.pid)
    }

    /// `get_transfer_session_state`: the session's state (cheap; never blocks).
    pub async fn get_transfer_session_state(
        &self,
        session_id: &str,
    ) -> Result<SessionState, WhmError> {
        let data: StateData = self
            .on_session("get_transfer_session_state", session_id, Effect::Read)
            .await?;
        Ok(data.state_name)
    }

    /// `fetch_transfer_session_log`: the whole text of one log file (an item log; for
    /// the master log, which grows to megabytes, see
    /// [`Self::stream_transfer_session_log`]). May block until the log is finished on
    /// some servers, so it has its own long timeout. Retried like every read.
    pub async fn fetch_transfer_session_log(
        &self,
        session_id: &str,
        logfile: &str,
    ) -> Result<String, WhmError> {
        const F: &str = "fetch_transfer_session_log";
        check_log_name(logfile)?;
        let params = [("transfer_session_id", session_id), ("logfile", logfile)];
        let site = self.site(F, Some(session_id));
        let text = self
            .retried(F, Effect::Read, || async {
                let mut text = Vec::new();
                let mut decoder = LogDecoder::new(&mut text);
                self.send_streaming(F, &params, Slowness::FetchLog, &mut |chunk| {
                    decoder.push(chunk);
                })
                .await?;
                decoder.finish(site)?;
                Ok(text)
            })
            .await?;
        Ok(String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// `fetch_transfer_session_log`, decoded as the answer arrives: `sink` receives
    /// the file's bytes in order from its first, and only the envelope around them is
    /// held, so memory does not grow with the log (the call has no offset, REFERENCE
    /// §4.12: every fetch sends the whole file). Returns the file's length.
    ///
    /// One attempt, never retried: a follower polls again anyway, and knows which
    /// bytes it has already taken. On an error the sink may have received a prefix of
    /// the file (the bytes before a connection broke); they are the file's bytes all
    /// the same.
    pub async fn stream_transfer_session_log(
        &self,
        session_id: &str,
        logfile: &str,
        sink: &mut dyn LogSink,
    ) -> Result<usize, WhmError> {
        const F: &str = "fetch_transfer_session_log";
        check_log_name(logfile)?;
        let mut decoder = LogDecoder::new(sink);
        self.send_streaming(
            F,
            &[("transfer_session_id", session_id), ("logfile", logfile)],
            Slowness::FetchLog,
            &mut |chunk| decoder.push(chunk),
        )
        .await?;
        decoder.finish(self.site(F, Some(session_id)))
    }

    /// `pause_transfer_session`: asks a running session to stop after its current items.
    pub async fn pause_transfer_session(&self, session_id: &str) -> Result<(), WhmError> {
        self.session_write("pause_transfer_session", session_id)
            .await
    }

    /// `abort_transfer_session`: stops a session for good. Items already restored stay
    /// on the destination; an aborted session cannot be restarted.
    pub async fn abort_transfer_session(&self, session_id: &str) -> Result<(), WhmError> {
        self.session_write("abort_transfer_session", session_id)
            .await
    }

    /// Calls a function whose only argument is the session id and decodes its `data`.
    async fn on_session<T: serde::de::DeserializeOwned>(
        &self,
        function: &str,
        session_id: &str,
        effect: Effect,
    ) -> Result<T, WhmError> {
        let env = self
            .call(
                function,
                &[("transfer_session_id", session_id)],
                effect,
                Slowness::Normal,
                Some(session_id),
            )
            .await?;
        env.data(self.site(function, Some(session_id)))
    }

    async fn session_write(&self, function: &str, session_id: &str) -> Result<(), WhmError> {
        self.call(
            function,
            &[("transfer_session_id", session_id)],
            Effect::Write,
            Slowness::Normal,
            Some(session_id),
        )
        .await
        .map(drop)
    }

    /// `restore_modules_summary`: the restore steps and their Restricted Restore status.
    pub async fn restore_modules_summary(&self) -> Result<Vec<RestoreModule>, WhmError> {
        const F: &str = "restore_modules_summary";
        let env = self
            .call(F, &[], Effect::Read, Slowness::Normal, None)
            .await?;
        Ok(env.data::<RestoreModulesData>(self.site(F, None))?.modules)
    }

    /// `delete_account_archives`: removes an account's leftover transfer archives.
    pub async fn delete_account_archives(
        &self,
        user: &str,
        mountpoint: Option<&str>,
    ) -> Result<ArchiveCleanup, WhmError> {
        let mut form = vec![("user", user)];
        if let Some(m) = mountpoint {
            form.push(("mountpoint", m));
        }
        let env = self
            .call(
                "delete_account_archives",
                &form,
                Effect::Write,
                Slowness::Normal,
                None,
            )
            .await?;
        Ok(ArchiveCleanup {
            messages: env.metadata.output.messages,
            warnings: env.metadata.output.warnings,
        })
    }

    /// `listaccts`: the destination's accounts (an empty list when WHM omits `data`).
    pub async fn listaccts(&self, query: &AccountQuery) -> Result<Vec<Account>, WhmError> {
        const F: &str = "listaccts";
        let want = query.want.join(",");
        let mut form = Vec::new();
        if let Some(s) = &query.search {
            form.push(("search", s.as_str()));
        }
        if let Some(t) = &query.searchtype {
            form.push(("searchtype", t.as_str()));
        }
        if query.exact {
            form.push(("searchmethod", "exact"));
        }
        if !want.is_empty() {
            form.push(("want", want.as_str()));
        }
        let env = self
            .call(F, &form, Effect::Read, Slowness::Normal, None)
            .await?;
        Ok(env
            .data::<AcctData>(self.site(F, None))?
            .acct
            .unwrap_or_default())
    }

    /// `accountsummary`: one account's record, or `None` when WHM says it does not
    /// exist (a failure that still carries an empty `data.acct`, REFERENCE §4.22).
    pub async fn accountsummary(&self, user: &str) -> Result<Option<Account>, WhmError> {
        const F: &str = "accountsummary";
        let env = self.call_any(F, &[("user", user)]).await?;
        let site = self.site(F, None);
        if !env.metadata.success {
            let empty = env
                .data
                .as_ref()
                .and_then(|_| env.data::<AcctData>(site).ok())
                .and_then(|d| d.acct)
                .is_some_and(|a| a.is_empty());
            if empty {
                return Ok(None);
            }
            return env.success(site).map(|_| None);
        }
        Ok(env
            .data::<AcctData>(site)?
            .acct
            .unwrap_or_default()
            .into_iter()
            .next())
    }

    /// `listpkgs`: the destination's packages.
    pub async fn listpkgs(&self, filter: PackageFilter) -> Result<Vec<Package>, WhmError> {
        const F: &str = "listpkgs";
        let env = self
            .call(
                F,
                &[("want", filter.as_str())],
                Effect::Read,
                Slowness::Normal,
                None,
            )
            .await?;
        Ok(env
            .data::<PkgData>(self.site(F, None))?
            .pkg
            .unwrap_or_default())
    }

    /// `list_pops_for`: the email accounts of the destination's account `user`
    /// (read-only; disabled with the server's Receive Mail role). A missing `data` or
    /// `pops` is no email account (REFERENCE §8: data may be left out when empty).
    pub async fn list_pops_for(&self, user: &str) -> Result<Vec<String>, WhmError> {
        const F: &str = "list_pops_for";
        let env = self
            .call(F, &[("user", user)], Effect::Read, Slowness::Normal, None)
            .await?;
        Ok(env
            .data::<PopsData>(self.site(F, None))?
            .pops
            .unwrap_or_default())
    }

    /// `get_featurelists`: the destination's feature list names.
    pub async fn get_featurelists(&self) -> Result<Vec<String>, WhmError> {
        const F: &str = "get_featurelists";
        let env = self
            .call(F, &[], Effect::Read, Slowness::Normal, None)
            .await?;
        Ok(env
            .data::<FeatureListsData>(self.site(F, None))?
            .featurelists
            .unwrap_or_default()
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect())
    }
}

/// A log name as `fetch_transfer_session_log` takes it: bare, no dot in front, no `/`.
fn check_log_name(logfile: &str) -> Result<(), WhmError> {
    if logfile.is_empty() || logfile.contains('/') || logfile.starts_with('.') {
        return Err(WhmError::Config(format!(
            "invalid log file name “{logfile}”: give a bare name such as master.log, without a leading dot or a /"
        )));
    }
    Ok(())
}
