namespace Virt.Machine.Boot;

/// <summary>Where the Linux loader puts the protected-mode kernel.</summary>
public enum LinuxKernelPlacement
{
    /// <summary>
    /// At 1 MiB (100000h), as QEMU's <c>-kernel</c> does. Works for every bzImage: a relocatable kernel
    /// decompresses itself to <c>pref_address</c> (its LOAD_PHYSICAL_ADDR, usually 16 MiB) or higher.
    /// </summary>
    OneMegabyte,

    /// <summary>
    /// At <c>pref_address</c> (aligned to <c>kernel_alignment</c>) when the kernel is relocatable and
    /// speaks protocol 2.10 or later, as GRUB does, which spares the decompressor a copy; otherwise at 1 MiB.
    /// </summary>
    PreferredAddress,
}
