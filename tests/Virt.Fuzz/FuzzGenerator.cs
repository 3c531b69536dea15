namespace Virt.Fuzz;

/// <summary>How the guest code of a fuzzed guest is made.</summary>
public enum FuzzGenerator
{
    /// <summary>Uniformly random bytes.</summary>
    RandomBytes,

    /// <summary>
    /// Instructions that Iced decodes at the mode's bitness (random byte strings, undecodable ones dropped) mixed with
    /// templates of system instructions: far jumps and calls, INT, IRET, segment loads, MOV CRn, LGDT/LIDT of plausible
    /// tables, REP string instructions, port I/O to the PC's devices and x87.
    /// </summary>
    DecodableInstructions,
}
