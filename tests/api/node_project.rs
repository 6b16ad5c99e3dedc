//! The Node projects under `tests/` that prove the API with real clients (Hydra's SDK, a client
//! generated from `openapi.yaml`): each is installed by `.ci/run` (`npm ci`), type-checked with its
//! own `tsc --strict` once per test binary, run with Node, and reports a JSON summary on its last line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::helpers::skip;

/// One Node project under `tests/`.
pub struct NodeProject {
    /// Its directory under `tests/`.
    pub dir: &'static str,
    /// A package whose presence under `node_modules` says the project is installed.
    pub package: &'static str,
    /// What to say when a tool fails, e.g. "the client does not type-check against the SDK".
    pub what: &'static str,
}

impl NodeProject {
    fn path(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(self.dir)
    }

    /// Whether the packages are installed; on CI they must be, elsewhere the test skips itself and says why.
    pub fn installed(&self) -> bool {
        if self.path().join("node_modules").join(self.package).exists() {
            return true;
        }
        assert!(std::env::var_os("CI").is_none(), "CI must run this test: npm ci --prefix tests/{}", self.dir);
        skip(&format!("run `npm ci --prefix tests/{}` to install {}", self.dir, self.package));
        false
    }

    /// Runs one of the project's own tools (`node_modules/.bin`) in its directory; fails the test with its output.
    pub fn tool(&self, program: &str, args: &[&str]) {
        let output = Command::new(self.path().join("node_modules/.bin").join(program))
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        assert!(
            output.status.success(),
            "{program}: {}:\n{}{}",
            self.what,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Builds once per test binary (`prepare`, then `tsc -p .`); answers the compiled `dist/<script>.js`.
    pub fn compiled(&self, once: &'static OnceLock<PathBuf>, script: &str, prepare: impl FnOnce(&Self)) -> PathBuf {
        once.get_or_init(|| {
            prepare(self);
            self.tool("tsc", &["-p", "."]);
            self.path().join("dist").join(format!("{script}.js"))
        })
        .clone()
    }

    /// Runs the compiled `script` with Node and `env`; answers the JSON summary on its last line,
    /// after checking that the script succeeded and said `"ok": true`.
    pub async fn run(&self, script: PathBuf, env: Vec<(&'static str, String)>) -> serde_json::Value {
        let output = tokio::task::spawn_blocking(move || Command::new("node").arg(script).envs(env).output())
            .await
            .expect("the node task ends")
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "tests/{} failed:\n{stdout}{}",
            self.dir,
            String::from_utf8_lossy(&output.stderr)
        );
        let last = stdout.trim().lines().last().unwrap_or_default();
        let summary: serde_json::Value =
            serde_json::from_str(last).unwrap_or_else(|e| panic!("no JSON summary on the last line ({e}):\n{stdout}"));
        assert_eq!(summary["ok"], true, "{summary}");
        summary
    }
}
