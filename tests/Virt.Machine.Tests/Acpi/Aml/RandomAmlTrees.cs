using Virt.Machine.Acpi.Aml;

namespace Virt.Machine.Tests.Acpi.Aml;

/// <summary>
/// Random AML trees for the round-trip property: declarations, statements and expressions of every node kind the
/// encoder has, integers of every encoded width, and bodies large enough to need two- and three-byte package lengths.
/// Method names (M000, M001, ... each once) never collide with referenced names (R...), so the decoder can tell calls from references.
/// </summary>
internal sealed class RandomAmlTrees(int seed)
{
    private static readonly string[] s_references = ["R000", "R1", "\\_SB.R002", "^R003", "^^R4", "\\R005.R006.R007", "_R08", "\\"];
    private static readonly AmlOpcode[] s_binary = [AmlOpcode.Add, AmlOpcode.Subtract, AmlOpcode.And, AmlOpcode.Or, AmlOpcode.Xor, AmlOpcode.ShiftLeft, AmlOpcode.ShiftRight];
    private static readonly AmlOpcode[] s_logical = [AmlOpcode.LAnd, AmlOpcode.LOr, AmlOpcode.LEqual, AmlOpcode.LGreater, AmlOpcode.LLess];

    private readonly Random _random = new(seed);
    private readonly List<(string Name, int Arguments)> _methods = [];

    public List<AmlNode> Declarations(int depth)
    {
        int count = _random.Next(0, depth > 0 ? 5 : 3);
        var nodes = new List<AmlNode>();
        for (int i = 0; i < count; i++)
        {
            nodes.Add(Declaration(depth));
        }

        return nodes;
    }

    private AmlNode Declaration(int depth)
    {
        switch (_random.Next(depth > 0 ? 7 : 4))
        {
            case 0:
                return new AmlName(Segment("N"), Data(2));
            case 1:
                return new AmlOperationRegion(Segment("O"), (AmlRegionSpace)_random.Next(3), Integer(), Integer());
            case 2:
                return new AmlField(Segment("O"), (AmlFieldAccess)_random.Next(4), (AmlFieldUpdate)_random.Next(3), Enumerable.Range(0, _random.Next(1, 6)).Select(_ => new AmlFieldUnit(_random.Next(4) == 0 ? null : Segment("F"), _random.Next(1, 5000))));
            case 3:
            {
                string name = $"M{_methods.Count:D3}"; // unique: a name declared twice with other argument counts would be ambiguous
                int arguments = _random.Next(0, 8);
                var method = new AmlMethod(name, arguments, _random.Next(2) == 0, Statements(depth, arguments));
                _methods.Add((name, arguments));
                return method;
            }

            case 4:
                return new AmlScope(s_references[_random.Next(s_references.Length)], Declarations(depth - 1));
            default:
                return new AmlDevice(Segment("D"), Declarations(depth - 1));
        }
    }

    private List<AmlNode> Statements(int depth, int arguments)
    {
        var nodes = new List<AmlNode>();
        int count = _random.Next(0, 6);
        for (int i = 0; i < count; i++)
        {
            nodes.Add(_random.Next(depth > 0 ? 6 : 4) switch
            {
                0 => new AmlOperation(AmlOpcode.Store, Expression(2, arguments), Target(arguments)),
                1 => new AmlOperation(AmlOpcode.Return, Expression(2, arguments)),
                2 => new AmlOperation(AmlOpcode.CreateDWordField, new AmlNameReference(Segment("R")), Integer(), new AmlNameReference(Segment("F"))),
                3 => new AmlOperation(_random.Next(2) == 0 ? AmlOpcode.Increment : AmlOpcode.Decrement, Target(arguments)),
                4 => new AmlIf(Expression(2, arguments), Statements(depth - 1, arguments), _random.Next(2) == 0 ? null : Statements(depth - 1, arguments)),
                _ => new AmlName(Segment("N"), Data(1)),
            });
        }

        return nodes;
    }

    private AmlNode Expression(int depth, int arguments)
    {
        int choice = _random.Next(depth > 0 ? 7 : 4);
        switch (choice)
        {
            case 0:
                return Integer();
            case 1:
                return arguments > 0 ? new AmlArgument(_random.Next(arguments)) : new AmlLocal(_random.Next(AmlLocal.Count));
            case 2:
                return new AmlNameReference(s_references[_random.Next(s_references.Length - 1)]);
            case 3:
                return new AmlLocal(_random.Next(AmlLocal.Count));
            case 4:
                return new AmlOperation(s_binary[_random.Next(s_binary.Length)], Expression(depth - 1, arguments), Expression(depth - 1, arguments), Target(arguments));
            case 5:
                return new AmlOperation(s_logical[_random.Next(s_logical.Length)], Expression(depth - 1, arguments), Expression(depth - 1, arguments));
            default:
                if (_methods.Count == 0)
                {
                    return new AmlOperation(AmlOpcode.LNot, Expression(depth - 1, arguments));
                }

                (string name, int count) = _methods[_random.Next(_methods.Count)];
                return new AmlCall(name, Enumerable.Range(0, count).Select(_ => Expression(depth - 1, arguments)));
        }
    }

    private AmlNode Target(int arguments) => _random.Next(3) switch
    {
        0 => new AmlLocal(_random.Next(AmlLocal.Count)),
        1 when arguments > 0 => new AmlArgument(_random.Next(arguments)),
        _ => new AmlNameReference(Segment("R")),
    };

    private AmlNode Data(int depth) => _random.Next(depth > 0 ? 4 : 3) switch
    {
        0 => Integer(),
        1 => new AmlString(new string([.. Enumerable.Range(0, _random.Next(0, 20)).Select(_ => (char)_random.Next(0x20, 0x7F))])),
        2 => new AmlBuffer(Enumerable.Range(0, _random.Next(0, _random.Next(2) == 0 ? 10 : 5000)).Select(_ => (byte)_random.Next(256)).ToArray()),
        _ => new AmlPackage(Enumerable.Range(0, _random.Next(0, 8)).Select(_ => _random.Next(4) == 0 ? new AmlNameReference(s_references[_random.Next(s_references.Length - 1)]) : Data(depth - 1))),
    };

    private AmlInteger Integer()
    {
        // Every encoded width: Zero, One, Ones, then byte, word, dword and qword values around their limits.
        ulong value = _random.Next(8) switch
        {
            0 => 0,
            1 => 1,
            2 => ulong.MaxValue,
            3 => (ulong)_random.Next(2, 256),
            4 => (ulong)_random.Next(256, 65536),
            5 => (ulong)_random.NextInt64(65536, 1L << 32),
            6 => (ulong)_random.NextInt64(1L << 32, long.MaxValue) | ((ulong)_random.Next(2) << 63),
            _ => (ulong)_random.Next(7) switch { 0 => 0xFF, 1 => 0x100, 2 => 0xFFFF, 3 => 0x10000, 4 => 0xFFFF_FFFF, 5 => 0x1_0000_0000, _ => ulong.MaxValue - 1 },
        };
        return new AmlInteger(value);
    }

    private string Segment(string first) => first + _random.Next(1000).ToString("D3", System.Globalization.CultureInfo.InvariantCulture)[..(_random.Next(3) + 1)];
}
