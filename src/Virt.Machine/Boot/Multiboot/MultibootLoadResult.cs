using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>What the Multiboot loader did.</summary>
public sealed record MultibootLoadResult
{
    /// <summary>The entry state: flat protected mode, EAX = 2BADB002h, EBX = the information structure.</summary>
    public required BootEntryState Entry { get; init; }

    /// <summary>The header found in the kernel.</summary>
    public required MultibootHeader Header { get; init; }

    /// <summary>Whether the kernel was loaded from ELF program headers or from the header's address fields.</summary>
    public required MultibootKernelFormat Format { get; init; }

    /// <summary>Where the Multiboot information structure is.</summary>
    public required PhysicalAddress InfoAddress { get; init; }

    /// <summary>The modules as loaded: [mod_start..mod_end - 1] (null for an empty module).</summary>
    public required IReadOnlyList<AddressRange?> Modules { get; init; }

    /// <summary>The guest memory ranges written or reserved, sorted by address.</summary>
    public required IReadOnlyList<BootRegion> Regions { get; init; }
}
