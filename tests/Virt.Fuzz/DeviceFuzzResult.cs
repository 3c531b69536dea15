namespace Virt.Fuzz;

/// <summary>What a device-traffic run did.</summary>
/// <param name="Operations">Operations performed.</param>
/// <param name="PortsCovered">Distinct registered ports accessed.</param>
/// <param name="Findings">Host exceptions (each with the case that reproduces it).</param>
public sealed record DeviceFuzzResult(long Operations, int PortsCovered, IReadOnlyList<FuzzFinding> Findings);
