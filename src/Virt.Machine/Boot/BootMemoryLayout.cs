namespace Virt.Machine.Boot;

/// <summary>
/// Where the loaders put their own structures in low guest memory. The addresses follow the choices
/// of Firecracker and QEMU: all sit in conventional memory below 640 KiB, clear of the real-mode
/// interrupt vector table and BIOS data area (0-4FFh), the usual boot-sector address (7C00h is only
/// used by the flat-binary loader when asked) and the EBDA. The Linux loader uses them as they are, and
/// rejects a kernel or initrd that would overlap one with a message naming both; the Multiboot loader only
/// prefers them and places its data elsewhere when the kernel occupies them (docs/boot.md, "Multiboot placement").
/// </summary>
public static class BootMemoryLayout
{
    /// <summary>The boot GDT (<see cref="BootGdt"/>), 32 bytes.</summary>
    public const uint GdtAddress = 0x500;

    /// <summary>
    /// The initial ESP the loaders hand over (the stack grows down from here). Neither Linux nor
    /// Multiboot requires a stack, but a valid one costs nothing.
    /// </summary>
    public const uint StackTop = 0x7000;

    /// <summary>The size of the region below <see cref="StackTop"/> reserved for the stack.</summary>
    public const uint StackSizeInBytes = 0x1000;

    /// <summary>The Linux zero page (<c>struct boot_params</c>), 4 KiB.</summary>
    public const uint LinuxBootParamsAddress = 0x7000;

    /// <summary>The Linux kernel command line.</summary>
    public const uint LinuxCommandLineAddress = 0x20000;

    /// <summary>
    /// Where the Multiboot loader prefers to put the information structure, followed by the memory map,
    /// the strings and the module list. QEMU uses the same address.
    /// </summary>
    public const uint MultibootInfoAddress = 0x9000;

    /// <summary>The end of the low area the loaders' own structures are kept in (512 KiB); bounds the Linux command line.</summary>
    public const uint MultibootInfoAreaEnd = 0x80000;

    /// <summary>The traditional load address of the Linux protected-mode kernel (1 MiB).</summary>
    public const uint LinuxKernelAddress = 0x10_0000;
}
