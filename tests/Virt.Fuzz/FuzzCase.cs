namespace Virt.Fuzz;

/// <summary>
/// One fuzzed guest: everything needed to run it again. The environment (tables, handlers, registers, data) follows from
/// <see cref="Seed"/> and <see cref="Mode"/>; the code is kept as bytes so a reproducer does not depend on the generator.
/// </summary>
/// <param name="Seed">The seed of the environment (and of the code, when it was generated).</param>
/// <param name="Mode">The CPU mode.</param>
/// <param name="Generator">How the code was made (for reports).</param>
/// <param name="Level">CPU or whole machine.</param>
/// <param name="Budget">The instruction budget given to Run.</param>
/// <param name="Code">The guest code, placed at <see cref="GuestLayout.CodeAddress"/>.</param>
public sealed record FuzzCase(ulong Seed, FuzzMode Mode, FuzzGenerator Generator, FuzzLevel Level, long Budget, byte[] Code)
{
    /// <summary>Makes the case of <paramref name="seed"/>, generating its code.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="mode">The mode.</param>
    /// <param name="generator">The code generator.</param>
    /// <param name="level">CPU or machine.</param>
    /// <param name="budget">The instruction budget.</param>
    /// <returns>The case.</returns>
    public static FuzzCase Generate(ulong seed, FuzzMode mode, FuzzGenerator generator, FuzzLevel level, long budget) =>
        new(seed, mode, generator, level, budget, CodeGenerator.Generate(seed, mode, generator));

    /// <summary>Makes a case from a reproducer's hex string (as written by <see cref="ReproducerWriter"/>).</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="mode">The mode.</param>
    /// <param name="generator">The generator that made the code.</param>
    /// <param name="level">CPU or machine.</param>
    /// <param name="budget">The instruction budget.</param>
    /// <param name="codeHex">The code as hex digits (whitespace ignored).</param>
    /// <returns>The case.</returns>
    public static FuzzCase FromHex(ulong seed, FuzzMode mode, FuzzGenerator generator, FuzzLevel level, long budget, string codeHex) =>
        new(seed, mode, generator, level, budget, Hex.Parse(codeHex));

    /// <summary>A short description: seed, mode, generator, level.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"seed {Seed} {Mode} {Generator} {Level} budget {Budget}";
}
