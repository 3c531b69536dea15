namespace Virt.Cpu.X87;

/// <summary>
/// The arithmetic environment of one x87 operation: precision and rounding control and the exception
/// masks from the control word in, the raised exception flags, the C1 "rounded up" bit and whether the
/// result must not be written out. Create one per instruction with <see cref="FromControlWord"/>, run
/// the operation, then merge <see cref="Flags"/> into the status word.
/// </summary>
/// <remarks>
/// Masked response (Intel SDM Vol. 1, 4.9.1 and 8.5): when an exception is masked the operation
/// delivers the default result (real indefinite, a signed infinity, the largest finite value, a
/// denormal or zero) and the flag is set. When an unmasked #I, #D or #Z occurs, or an unmasked #O or
/// #U on a store to memory, <see cref="SuppressWrite"/> is set and the caller must leave the
/// destination (and TOP) unchanged; the flag is still set so the core can raise #MF or FERR. An
/// unmasked #O or #U with a register destination delivers the result with its exponent wrapped by
/// 24576 (SDM 8.5.4, 8.5.5), and an unmasked #P delivers the rounded result.
/// </remarks>
internal struct X87Context
{
    /// <summary>The FINIT control word: all exceptions masked, 64-bit precision, round to nearest.</summary>
    public const ushort DefaultControlWord = 0x037F;

    public X87PrecisionControl Precision;
    public X87RoundingControl Rounding;

    /// <summary>Exceptions that are masked (control word bits 0-5).</summary>
    public X87Exceptions Masks;

    /// <summary>Exceptions raised by the operations run in this context (status word bits 0-6).</summary>
    public X87Exceptions Flags;

    /// <summary>C1 after the last rounding: true when the result's magnitude was rounded up.</summary>
    public bool RoundedUp;

    /// <summary>An unmasked exception occurred that forbids writing the result (see remarks).</summary>
    public bool SuppressWrite;

    public X87Context(X87PrecisionControl precision, X87RoundingControl rounding, X87Exceptions masks)
    {
        Precision = precision;
        Rounding = rounding;
        Masks = masks & X87Exceptions.All;
        Flags = X87Exceptions.None;
        RoundedUp = false;
        SuppressWrite = false;
    }

    /// <summary>A context with every exception masked.</summary>
    public static X87Context Masked(X87PrecisionControl precision = X87PrecisionControl.Extended, X87RoundingControl rounding = X87RoundingControl.Nearest) =>
        new(precision, rounding, X87Exceptions.All);

    public static X87Context FromControlWord(ushort controlWord) =>
        new((X87PrecisionControl)((controlWord >> 8) & 3), (X87RoundingControl)((controlWord >> 10) & 3), (X87Exceptions)(controlWord & 0x3F));

    /// <summary>Significand width selected by <see cref="Precision"/>: 24, 53 or 64 bits.</summary>
    public readonly int PrecisionBits => Precision switch
    {
        X87PrecisionControl.Single => 24,
        X87PrecisionControl.Double => 53,
        _ => 64,
    };

    /// <summary>Raised exceptions that are not masked: the core raises #MF (or FERR) for these.</summary>
    public readonly X87Exceptions Unmasked => Flags & ~Masks & X87Exceptions.All;

    public readonly bool IsMasked(X87Exceptions exception) => (Masks & exception) == exception;

    /// <summary>Raises an exception; returns true when it is masked (the operation continues with the default result).</summary>
    public bool Raise(X87Exceptions exception)
    {
        Flags |= exception;
        if ((Masks & exception) == exception)
        {
            return true;
        }

        if ((exception & (X87Exceptions.Invalid | X87Exceptions.Denormal | X87Exceptions.ZeroDivide)) != 0)
        {
            SuppressWrite = true;
        }

        return false;
    }

    /// <summary>Clears the per-operation outputs (flags, C1, suppression) to reuse the context.</summary>
    public void Reset()
    {
        Flags = X87Exceptions.None;
        RoundedUp = false;
        SuppressWrite = false;
    }
}
