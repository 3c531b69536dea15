namespace Virt.Machine.Boot;

/// <summary>What the Multiboot loader needs besides the kernel image.</summary>
public sealed record MultibootOptions
{
    /// <summary>The guest's e820 map: the memory map, <c>mem_lower</c>/<c>mem_upper</c>, and where images may go.</summary>
    public required IReadOnlyList<E820Entry> MemoryMap { get; init; }

    /// <summary>
    /// The kernel command line as the kernel receives it. GRUB and QEMU put the kernel's path first
    /// (<c>"kernel.elf console=ttyS0"</c>); the loader passes this string unchanged.
    /// </summary>
    public string CommandLine { get; init; } = string.Empty;

    /// <summary>The boot modules, loaded page-aligned after the kernel in this order.</summary>
    public IReadOnlyList<MultibootModuleSource> Modules { get; init; } = [];
}
