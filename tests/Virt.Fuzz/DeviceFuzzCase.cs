namespace Virt.Fuzz;

/// <summary>A run of random port and MMIO traffic against the default board's devices: the seed makes the operations.</summary>
/// <param name="Seed">The seed.</param>
/// <param name="Operations">How many operations (the finding's operation is the last one).</param>
public sealed record DeviceFuzzCase(ulong Seed, int Operations)
{
    /// <summary>A short description.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"device traffic seed {Seed}, {Operations} operations";
}
