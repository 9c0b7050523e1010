use clap::Parser;

/// glibc's malloc took a third of `crm replay`'s CPU (`perf`: `_int_malloc`,
/// `unlink_chunk`, `malloc_consolidate`); mimalloc is the allocator of the
/// whole binary, server included.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = tgcrm_server::cli::Cli::parse();
    if let Some(path) = &cli.config {
        match tgcrm_server::config_file::read(path) {
            Ok(vars) => {
                for (k, v) in vars {
                    if std::env::var_os(&k).is_none() {
                        // SAFETY: no other thread exists yet (the runtime starts below),
                        // so nothing can read the environment concurrently.
                        #[allow(unsafe_code)]
                        unsafe {
                            std::env::set_var(k, v);
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    tgcrm_server::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tgcrm_server::commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
