namespace Virt.Machine.Boot;

/// <summary>What a loader did: the entry state to hand the CPU and the guest memory it filled.</summary>
/// <param name="Entry">The processor state to start in.</param>
/// <param name="Regions">The guest memory ranges written or reserved, sorted by address.</param>
public sealed record BootLoadResult(BootEntryState Entry, IReadOnlyList<BootRegion> Regions);
