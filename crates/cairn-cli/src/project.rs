//! The user's project on disk: `Cairn.yaml`, the template, `stacks/<name>.yaml`, and the
//! selected stack. All file IO of cairn's inputs happens here.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_core::project::{parse_project, parse_stack, ProjectFile, StackSettings};
use cairn_core::template::SourceLoader;
use cairn_core::Diagnostics;

use crate::error::CliError;

pub const PROJECT_FILE: &str = "Cairn.yaml";

/// Reads project files, remembering their text for rendering located errors.
#[derive(Default)]
pub struct FsLoader {
    pub root: PathBuf,
    pub sources: RefCell<BTreeMap<String, String>>,
    /// When set, files come from here instead of the disk (the inputs an earlier run
    /// recorded, for `cairn stack rollback`).
    pub recorded: Option<BTreeMap<String, String>>,
}

impl SourceLoader for FsLoader {
    fn read(&self, path: &str) -> std::io::Result<String> {
        let text = match &self.recorded {
            Some(files) => files.get(path).cloned().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, format!("{path} is not among the recorded inputs"))
            })?,
            None => std::fs::read_to_string(self.root.join(path))?,
        };
        self.sources.borrow_mut().insert(path.to_string(), text.clone());
        Ok(text)
    }
}

pub struct Project {
    pub dir: PathBuf,
    pub file: ProjectFile,
    pub loader: FsLoader,
}

impl Project {
    /// Find `Cairn.yaml` in `start` or a parent directory.
    pub fn discover(start: &Path) -> Result<Project, CliError> {
        let mut dir = start.to_path_buf();
        loop {
            if dir.join(PROJECT_FILE).is_file() {
                break;
            }
            if !dir.pop() {
                return Err(CliError::Usage(format!(
                    "no {PROJECT_FILE} in {} or any parent directory: run `cairn init` to create a project, or pass -C DIR",
                    start.display()
                )));
            }
        }
        let loader = FsLoader { root: dir.clone(), sources: RefCell::default(), recorded: None };
        let text =
            loader.read(PROJECT_FILE).map_err(|e| CliError::Usage(format!("cannot read {PROJECT_FILE}: {e}")))?;
        let file = parse_project(&text, PROJECT_FILE)
            .map_err(|d| CliError::Diagnostics(d, loader.sources.borrow().clone()))?;
        Ok(Project { dir, file, loader })
    }

    /// The same project as it was when a run recorded `files` (its inputs).
    pub fn at_recorded(&self, files: BTreeMap<String, String>) -> Result<Project, CliError> {
        let loader = FsLoader { root: self.dir.clone(), sources: RefCell::default(), recorded: Some(files) };
        let text = loader
            .read(PROJECT_FILE)
            .map_err(|e| CliError::Usage(format!("cannot read the recorded {PROJECT_FILE}: {e}")))?;
        let file = parse_project(&text, PROJECT_FILE)
            .map_err(|d| CliError::Diagnostics(d, loader.sources.borrow().clone()))?;
        Ok(Project { dir: self.dir.clone(), file, loader })
    }

    pub fn stack_path(&self, stack: &str) -> PathBuf {
        self.dir.join("stacks").join(format!("{stack}.yaml"))
    }

    pub fn stack_rel(&self, stack: &str) -> String {
        format!("stacks/{stack}.yaml")
    }

    /// Stacks that have a stack file.
    pub fn stack_files(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.dir.join("stacks"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".yaml")).map(str::to_string))
            .collect();
        out.sort();
        out
    }

    /// The stack file's own settings (without the project defaults).
    pub fn read_stack(&self, stack: &str) -> Result<StackSettings, CliError> {
        let rel = self.stack_rel(stack);
        let text = match self.loader.read(&rel) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CliError::Usage(format!(
                    "stack `{stack}` has no stack file ({rel}): run `cairn stack init {stack}`, or choose one of: {}",
                    list_or_none(&self.stack_files())
                )))
            }
            Err(e) => return Err(CliError::Usage(format!("cannot read {rel}: {e}"))),
        };
        parse_stack(&text, &rel).map_err(|d| self.diagnostics(d))
    }

    /// The stack's effective settings: the stack file over Cairn.yaml's defaults.
    pub fn settings(&self, stack: &str) -> Result<StackSettings, CliError> {
        Ok(self.read_stack(stack)?.merged_over(&self.file.defaults))
    }

    pub fn write_stack(&self, stack: &str, settings: &StackSettings) -> Result<(), CliError> {
        let path = self.stack_path(stack);
        write_stack_file(&path, settings)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", self.stack_rel(stack))))
    }

    fn selected_path(&self) -> PathBuf {
        self.dir.join(".cairn").join("selected-stack")
    }

    /// `--stack`, else the selected stack, else the only stack.
    pub fn resolve_stack(&self, flag: Option<&str>) -> Result<String, CliError> {
        if let Some(s) = flag {
            return Ok(s.to_string());
        }
        if let Ok(s) = std::fs::read_to_string(self.selected_path()) {
            let s = s.trim().to_string();
            if !s.is_empty() {
                return Ok(s);
            }
        }
        let stacks = self.stack_files();
        if stacks.len() == 1 {
            return Ok(stacks[0].clone());
        }
        Err(CliError::Usage(format!(
            "no stack selected: pass --stack NAME or run `cairn stack select NAME` (stacks: {})",
            list_or_none(&stacks)
        )))
    }

    pub fn select(&self, stack: &str) -> Result<(), CliError> {
        let p = self.selected_path();
        std::fs::create_dir_all(p.parent().expect("parent"))
            .and_then(|_| std::fs::write(&p, format!("{stack}\n")))
            .map_err(|e| CliError::Failed(format!("cannot remember the selected stack: {e}")))
    }

    pub fn selected(&self) -> Option<String> {
        std::fs::read_to_string(self.selected_path()).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    pub fn clear_selection_if(&self, stack: &str) {
        if self.selected().as_deref() == Some(stack) {
            let _ = std::fs::remove_file(self.selected_path());
        }
    }

    pub fn diagnostics(&self, d: Diagnostics) -> CliError {
        CliError::Diagnostics(d, self.loader.sources.borrow().clone())
    }
}

pub fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none yet".to_string()
    } else {
        v.join(", ")
    }
}

/// Write a stack file holding `settings`, atomically (a temporary file renamed over it),
/// keeping the comments the file starts with ([`cairn_core::project::leading_comments`]).
pub fn write_stack_file(path: &Path, settings: &StackSettings) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().expect("a stack file is in stacks/"))?;
    let header = match std::fs::read_to_string(path) {
        Ok(old) => cairn_core::project::leading_comments(&old),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, header + &cairn_core::project::render_stack(settings))?;
    std::fs::rename(&tmp, path)
}
