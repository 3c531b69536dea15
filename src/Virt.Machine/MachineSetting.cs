namespace Virt.Machine;

/// <summary>
/// The builder setting a <see cref="MachineConfigurationException"/> is about, so a front end can name its own option
/// for it (Virt.Run adds <c>-kernel</c>, <c>-initrd</c>, <c>-append</c>, <c>-bios</c> or <c>-m</c>).
/// </summary>
public enum MachineSetting
{
    /// <summary>None in particular (device layout, custom devices, several settings together).</summary>
    None,

    /// <summary><see cref="MachineBuilder.WithMemorySize"/>.</summary>
    MemorySize,

    /// <summary>The firmware image of <see cref="MachineBuilder.WithFirmware(string)"/>.</summary>
    Firmware,

    /// <summary>The kernel image of <see cref="MachineBuilder.WithKernel"/>.</summary>
    Kernel,

    /// <summary>The initial ramdisk of <see cref="MachineBuilder.WithKernel"/>.</summary>
    Initrd,

    /// <summary>The image of <c>MachineBuilder.WithFlatBinary</c> (either overload).</summary>
    FlatBinary,

    /// <summary>The kernel command line of <see cref="MachineBuilder.WithKernel"/>.</summary>
    CommandLine,

    /// <summary>The boot order of <see cref="MachineBuilder.WithBootOrder"/>.</summary>
    BootOrder,
}
