namespace Virt.Machine.Boot;

/// <summary>A boot module to load with a Multiboot kernel (QEMU's <c>-initrd "file args,file2"</c>).</summary>
/// <param name="Content">The module's bytes, read from the start when seekable.</param>
/// <param name="Name">The file name for messages.</param>
/// <param name="CommandLine">The module's string as the kernel sees it (QEMU passes the file name and its arguments).</param>
public sealed record MultibootModuleSource(Stream Content, string Name, string CommandLine);
