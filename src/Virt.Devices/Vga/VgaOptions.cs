namespace Virt.Devices;

/// <summary>Options of the <see cref="VgaAdapter"/>.</summary>
public sealed record VgaOptions
{
    /// <summary>The default VBE video memory: 16 MiB, as QEMU's <c>std</c> VGA (<c>vgamem_mb=16</c>).</summary>
    public const ulong DefaultVideoMemorySizeInBytes = 16UL << 20;

    /// <summary>The device name for messages.</summary>
    public string Name { get; init; } = "VGA";

    /// <summary>Whether the Bochs VBE ports 1CEh-1D0h exist (default true).</summary>
    public bool BochsVbe { get; init; } = true;

    /// <summary>
    /// The VBE video memory (the linear framebuffer): a power of two from 1 MiB to 256 MiB, default 16 MiB. It is
    /// allocated in 64 KiB pieces as the guest writes it.
    /// </summary>
    public ulong VideoMemorySizeInBytes { get; init; } = DefaultVideoMemorySizeInBytes;
}
