fn main() -> std::process::ExitCode {
    chirp::cli::main()
}
