namespace Virt.Machine.Boot;

/// <summary>The processor mode a boot loader hands over in.</summary>
public enum BootCpuMode
{
    /// <summary>Real mode: segment bases are selector × 16, 64 KiB limits, CR0.PE clear.</summary>
    RealMode,

    /// <summary>
    /// 32-bit protected mode with flat 4 GiB code and data segments from the boot GDT
    /// (<see cref="BootGdt"/>), paging off, interrupts off.
    /// </summary>
    ProtectedMode32,
}
