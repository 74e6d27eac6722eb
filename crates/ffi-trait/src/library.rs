//! Shared libraries for the backends whose foreign code runs in this process.

use std::ffi::c_void;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A shared library opened with `dlopen`, shared by the backends that run foreign code in the
/// host process (native, asm). Cloning is cheap (shared); the library stays loaded while any
/// clone or any function prepared from it lives.
#[derive(Clone, Debug)]
pub struct SharedLibrary {
    lib: Arc<libloading::Library>,
    name: Arc<str>,
}

impl SharedLibrary {
    /// Opens `path` with `dlopen(path, RTLD_NOW | RTLD_LOCAL)` on Unix (libloading's
    /// `Library::new` would bind lazily).
    ///
    /// Binding every symbol at load time means no call ever runs the dynamic linker's lazy
    /// resolver: the first call costs what later ones do, and a caller that runs foreign code
    /// on a small stack (the Go binding's goroutine-stack trampoline) never pays the
    /// resolver's ~3 KiB of stack. A library with a symbol that cannot be bound fails here
    /// instead of at its first call.
    ///
    /// # Errors
    /// [`Error::LibraryNotFound`] with the loader's message.
    ///
    /// # Safety
    /// Loading a library runs its initialisers, which can do anything (libloading's
    /// `Library::new` has the same contract).
    pub unsafe fn open(path: &Path) -> Result<SharedLibrary> {
        #[cfg(unix)]
        // SAFETY: the caller accepts running the library's initialisers.
        let lib = unsafe {
            use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
            Library::open(Some(path), RTLD_NOW | RTLD_LOCAL).map(libloading::Library::from)
        };
        #[cfg(not(unix))]
        // SAFETY: the caller accepts running the library's initialisers.
        let lib = unsafe { libloading::Library::new(path) };
        let lib = lib.map_err(|e| Error::LibraryNotFound {
            library: path.display().to_string(),
            reason: loader_message(&e),
        })?;
        Ok(SharedLibrary {
            lib: Arc::new(lib),
            name: path.display().to_string().into(),
        })
    }

    /// The path or name the library was opened with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address of `symbol`.
    ///
    /// # Errors
    /// [`Error::SymbolNotFound`] with the loader's message.
    pub fn symbol_address(&self, symbol: &str) -> Result<*const c_void> {
        // SAFETY: the symbol is read as an opaque address, never called or dereferenced
        // here; a null address is reported as not found below.
        let found = unsafe { self.lib.get::<*const c_void>(symbol.as_bytes()) };
        let not_found = |reason: String| Error::SymbolNotFound {
            symbol: symbol.to_owned(),
            library: self.name.to_string(),
            reason,
        };
        match found {
            Ok(sym) if !sym.is_null() => Ok(*sym),
            Ok(_) => Err(not_found("the symbol's address is null".to_owned())),
            Err(e) => Err(not_found(loader_message(&e))),
        }
    }
}

/// libloading's error with its chain of sources: libloading 0.9 says only `dlopen failed` /
/// `dlsym failed` and keeps the loader's own reason (`dlerror()`: "invalid ELF header",
/// "cannot open shared object file: No such file or directory") in `source()`.
fn loader_message(e: &libloading::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_error(path: &str) -> String {
        // SAFETY: neither path is a library whose initialisers could run.
        match unsafe { SharedLibrary::open(Path::new(path)) } {
            Err(Error::LibraryNotFound { reason, .. }) => reason,
            other => panic!("{path}: {:?}", other.map(|l| l.name().to_owned())),
        }
    }

    /// The loader's reason reaches the error, not only libloading's "dlopen failed".
    #[cfg(target_os = "linux")]
    #[test]
    fn library_errors_carry_the_loaders_reason() {
        let missing = open_error("/nonexistent/libffikit_missing.so");
        assert!(
            missing.contains("cannot open shared object file"),
            "{missing}"
        );
        let not_elf = open_error("/etc/passwd");
        assert!(
            not_elf.contains("invalid ELF header") || not_elf.contains("file too short"),
            "{not_elf}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn symbol_errors_carry_the_loaders_reason() {
        // SAFETY: libc's initialisers have already run in this process.
        let libc = unsafe { SharedLibrary::open(Path::new("libc.so.6")) }.expect("libc");
        match libc.symbol_address("ffikit_no_such_symbol") {
            Err(Error::SymbolNotFound { reason, .. }) => {
                assert!(reason.contains("undefined symbol"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
