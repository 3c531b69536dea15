namespace Virt.Fuzz;

/// <summary>
/// A small seeded generator (SplitMix64) whose sequence is fixed by this file alone, so a seed reproduces the same guest
/// on every .NET version (System.Random's seeded sequence is an implementation detail).
/// </summary>
public sealed class FuzzRandom
{
    private const ulong GoldenGamma = 0x9E37_79B9_7F4A_7C15;
    private ulong _state;

    /// <summary>Creates a generator for <paramref name="seed"/>; <paramref name="stream"/> separates independent sequences of one seed.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="stream">A stream number (the code and the environment of a guest use different ones).</param>
    public FuzzRandom(ulong seed, ulong stream = 0)
    {
        _state = seed ^ (stream * 0xD1B5_4A32_D192_ED03);
        NextUInt64();
    }

    /// <summary>The next 64 random bits.</summary>
    /// <returns>The value.</returns>
    public ulong NextUInt64()
    {
        ulong z = _state += GoldenGamma;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    /// <summary>The next 32 random bits.</summary>
    /// <returns>The value.</returns>
    public uint NextUInt32() => (uint)(NextUInt64() >> 32);

    /// <summary>A value in [0, <paramref name="exclusiveMax"/>).</summary>
    /// <param name="exclusiveMax">The bound (positive).</param>
    /// <returns>The value.</returns>
    public int Next(int exclusiveMax) => (int)((NextUInt64() >> 33) % (ulong)exclusiveMax);

    /// <summary>A random byte.</summary>
    /// <returns>The value.</returns>
    public byte NextByte() => (byte)(NextUInt64() >> 56);

    /// <summary>True with probability <paramref name="percent"/>/100.</summary>
    /// <param name="percent">0 to 100.</param>
    /// <returns>The outcome.</returns>
    public bool Chance(int percent) => Next(100) < percent;

    /// <summary>One element of <paramref name="items"/>.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="items">A non-empty list.</param>
    /// <returns>The element.</returns>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    /// <param name="destination">The buffer.</param>
    public void Fill(Span<byte> destination)
    {
        int i = 0;
        for (; i + 8 <= destination.Length; i += 8)
        {
            BitConverter.TryWriteBytes(destination[i..], NextUInt64());
        }

        for (; i < destination.Length; i++)
        {
            destination[i] = NextByte();
        }
    }
}
