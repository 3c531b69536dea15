using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>What the Linux loader did.</summary>
public sealed record LinuxLoadResult
{
    /// <summary>The entry state: 32-bit flat protected mode at <c>code32_start</c>, ESI = the zero page.</summary>
    public required BootEntryState Entry { get; init; }

    /// <summary>The parsed setup header.</summary>
    public required LinuxSetupHeader Header { get; init; }

    /// <summary>Where the protected-mode kernel was loaded (also <c>code32_start</c> and EIP).</summary>
    public required PhysicalAddress KernelAddress { get; init; }

    /// <summary>Where the zero page (<c>struct boot_params</c>) was written.</summary>
    public required PhysicalAddress BootParamsAddress { get; init; }

    /// <summary>Where the NUL-terminated command line was written.</summary>
    public required PhysicalAddress CommandLineAddress { get; init; }

    /// <summary>Where the initrd was loaded, or null when there is none.</summary>
    public AddressRange? InitrdRange { get; init; }

    /// <summary>The guest memory ranges written or reserved (the kernel's decompression area included), sorted by address.</summary>
    public required IReadOnlyList<BootRegion> Regions { get; init; }
}
