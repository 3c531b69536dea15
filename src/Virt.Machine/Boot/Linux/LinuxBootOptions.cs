namespace Virt.Machine.Boot;

/// <summary>What the Linux loader needs besides the kernel image.</summary>
public sealed record LinuxBootOptions
{
    /// <summary>
    /// The guest's e820 memory map (at most 128 entries), copied into the zero page; its RAM entries also
    /// decide where the kernel, its decompression area and the initrd may go. See <see cref="E820Map.CreatePc"/>.
    /// </summary>
    public required IReadOnlyList<E820Entry> MemoryMap { get; init; }

    /// <summary>The kernel command line (<c>-append</c>), ASCII, at most the kernel's <c>cmdline_size</c> bytes.</summary>
    public string CommandLine { get; init; } = string.Empty;

    /// <summary>The initial ramdisk (<c>-initrd</c>), read from its start when seekable; null for none.</summary>
    public Stream? Initrd { get; init; }

    /// <summary>The initrd's file name for messages.</summary>
    public string InitrdName { get; init; } = "initrd";

    /// <summary>Where the protected-mode kernel goes (default: 1 MiB, as QEMU).</summary>
    public LinuxKernelPlacement Placement { get; init; } = LinuxKernelPlacement.OneMegabyte;

    /// <summary>What <c>screen_info</c> says about the display (default: none, for serial consoles).</summary>
    public LinuxScreenInfoMode ScreenInfo { get; init; } = LinuxScreenInfoMode.None;
}
