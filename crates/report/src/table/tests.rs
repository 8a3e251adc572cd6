//! Tests of the table writers (the CSV format against polars' own with the `parquet`
//! feature).

use super::*;

fn csv(values: &[f64]) -> Vec<String> {
    values
        .iter()
        .map(|&v| {
            let mut s = String::new();
            format_csv_float(v, &mut s);
            s
        })
        .collect()
}

#[test]
fn floats_as_polars_writes_them() {
    assert_eq!(
        csv(&[0.0, -0.0, 1.0, -2.5, 0.1 + 0.2, 1.0 / 3.0]),
        [
            "0.0",
            "-0.0",
            "1.0",
            "-2.5",
            "0.30000000000000004",
            "0.3333333333333333"
        ]
    );
    assert_eq!(
        csv(&[1e-5, 1.5e-5, 9.99e-6, 1e-6, 1e-9, 1e-300, f64::MIN_POSITIVE]),
        [
            "0.00001",
            "0.000015",
            "9.99e-6",
            "1e-6",
            "1e-9",
            "1e-300",
            "2.2250738585072014e-308"
        ]
    );
    assert_eq!(
        csv(&[
            123456789.0,
            1e15,
            9.999999999999998e15,
            1e16,
            1.5e20,
            -1e100
        ]),
        [
            "123456789.0",
            "1000000000000000.0",
            "9999999999999998.0",
            "1e+16",
            "1.5e+20",
            "-1e+100"
        ]
    );
    assert_eq!(
        csv(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 5e-324]),
        ["NaN", "inf", "-inf", "5e-324"]
    );
    // Exactly halfway between two shortest decimals: the even last digit.
    assert_eq!(
        csv(&[
            272984985993652.0 + 0.125,
            272984985993652.0 + 0.375,
            1229227237496791.0 + 0.25,
            -(1229227237496791.0 + 0.75),
        ]),
        [
            "272984985993652.12",
            "272984985993652.38",
            "1229227237496791.2",
            "-1229227237496791.8"
        ]
    );
}

fn sample() -> Table {
    Table::new()
        .f64("x", [1.5, f64::NAN])
        .i64("i", [-3, 4])
        .u64("u", [7, 8])
        .opt_i64("oi", [Some(1), None])
        .opt_f64("of", [None, Some(0.25)])
        .str("s", ["a,b", "say \"hi\""])
        .bool("b", [true, false])
}

#[test]
fn csv_text() {
    let text = to_csv(&sample()).unwrap();
    assert_eq!(
        text,
        "x,i,u,oi,of,s,b\n1.5,-3,7,1,,\"a,b\",true\nNaN,4,8,,0.25,\"say \"\"hi\"\"\",false\n"
    );
    let t = Table::new().str("", ["", "x\ny", "a\rb", "plain"]);
    assert_eq!(
        to_csv(&t).unwrap(),
        "\"\"\n\"\"\n\"x\ny\"\n\"a\rb\"\nplain\n"
    );
    assert_eq!(to_csv(&Table::new()).unwrap(), "\n");
}

#[test]
fn shape_and_lookup() {
    let t = sample();
    assert_eq!((t.height(), t.width()), (2, 7));
    assert_eq!(
        t.names().collect::<Vec<_>>(),
        ["x", "i", "u", "oi", "of", "s", "b"]
    );
    assert_eq!(t.column("u"), Some(&Column::U64(vec![7, 8])));
    assert!(t.column("nope").is_none());
    assert!(t.column("x").unwrap().is_numeric() && !t.column("b").unwrap().is_numeric());
}

#[test]
fn malformed_tables_are_errors_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.csv");
    let short = Table::new().f64("a", [1.0, 2.0]).i64("b", [1]);
    let e = write_csv(&short, &p).unwrap_err().to_string();
    assert!(e.contains("\"b\"") && e.contains("1 rows"), "{e}");
    let dup = Table::new().f64("a", [1.0]).str("a", ["x"]);
    let e = dup.validate().unwrap_err().to_string();
    assert!(e.contains("\"a\"") && e.contains("earlier"), "{e}");
    assert!(!p.exists());
    assert!(to_csv(&dup).is_err());
}

#[test]
fn trajectory_round_trips_through_csv() {
    let mut t = Trajectory::new(vec!["risk".into(), "r_0".into()]);
    t.push(0.0, &[1.5, 0.1]);
    t.push(1e-3, &[1.25, 1.0 / 3.0]);
    let table = Table::from_trajectory(&t);
    assert_eq!(table.names().collect::<Vec<_>>(), ["t", "risk", "r_0"]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    write_csv(&table, &csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text,
        "t,risk,r_0\n0.0,1.5,0.1\n0.001,1.25,0.3333333333333333\n"
    );
}

/// The CSV and Parquet writers against polars itself.
#[cfg(feature = "parquet")]
mod polars_tests {
    use polars::prelude::*;

    use super::{Table, to_csv, to_dataframe, to_parquet, write_parquet, write_parquet_into};

    /// SplitMix64: a seeded, dependency-free generator of test values.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Awkward floats, then `n` random ones: raw bit patterns (every exponent), values
    /// spread over 10^-30..10^30, short decimals, integers near 10^15..10^17, and binary
    /// fractions near 10^12..10^16 (often exactly halfway between two shortest decimals).
    fn awkward_floats(n: usize) -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1e-9,
            1e-300,
            1.5e20,
            123456789.0,
            0.1 + 0.2,
            1.0 / 3.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1e-5,
            1e-6,
            9.99999e-6,
            1.00001e-5,
            0.00012345,
            99999.99999,
            1e15,
            1e15 + 1.0,
            1e15 - 0.5,
            9.999999999999998e15,
            1e16,
            1e16 + 2.0,
            1.2345678901234567e16,
            1e17,
            123456789012345680.0,
            2f64.powi(53),
            2f64.powi(53) + 2.0,
            2f64.powi(60),
            -2f64.powi(-20),
            1e22,
            1e23,
            4.35,
            0.5,
            2.5e-7,
            272984985993652.0 + 0.125,
            272984985993652.0 + 0.375,
            1229227237496791.0 + 0.25,
            1229227237496791.0 + 0.75,
            0.000244140625,
            5.960464477539063e-8,
        ];
        let mut rng = SplitMix(0x5eed_2024);
        for i in 0..n {
            let x = match i % 5 {
                0 => loop {
                    let x = f64::from_bits(rng.next());
                    if x.is_finite() {
                        break x;
                    }
                },
                1 => (rng.unit() - 0.5) * 10f64.powf(rng.unit() * 60.0 - 30.0),
                2 => (rng.next() % 100_000) as f64 / 10f64.powi((rng.next() % 12) as i32),
                3 => {
                    ((rng.next() >> 11) as f64 / 2f64.powi((rng.next() % 12) as i32)).round()
                        / 2f64.powi((rng.next() % 8) as i32)
                }
                _ => (10f64.powf(15.0 + 2.0 * rng.unit())).round(),
            };
            v.push(x);
        }
        v
    }

    fn polars_csv(table: &Table) -> String {
        let mut df = to_dataframe(table).unwrap();
        let mut buf = Vec::new();
        CsvWriter::new(&mut buf)
            .include_header(true)
            .finish(&mut df)
            .unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn csv_floats_byte_for_byte_as_polars() {
        let v = awkward_floats(
            std::env::var("CSV_FLOATS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(5000),
        );
        let table = Table::new().f64("x", v.as_slice()).opt_f64(
            "maybe",
            v.iter()
                .enumerate()
                .map(|(i, &x)| (i % 3 != 0).then_some(-x))
                .collect::<Vec<_>>(),
        );
        let ours = to_csv(&table).unwrap();
        let theirs = polars_csv(&table);
        for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
            assert_eq!(a, b, "row {i}");
        }
        assert_eq!(ours, theirs);
    }

    #[test]
    fn csv_other_kinds_byte_for_byte_as_polars() {
        let table = Table::new()
            .i64("i", [0, -1, i64::MIN, i64::MAX, 42, 7, 8])
            .u64("u", [0, 1, u64::MAX, 10, 11, 12, 13])
            .opt_i64(
                "oi",
                [None, Some(-5), Some(0), None, Some(3), None, Some(1)],
            )
            .str(
                "s, \"quoted\"",
                ["", "a,b", "say \"hi\"", "x\ny", "c\rd", "plain", "ε – ☃"],
            )
            .bool("b", [true, false, true, true, false, false, true]);
        assert_eq!(to_csv(&table).unwrap(), polars_csv(&table));
        assert_eq!(
            to_csv(&Table::new().f64("empty", Vec::new())).unwrap(),
            "empty\n"
        );
        assert_eq!(
            polars_csv(&Table::new().f64("empty", Vec::new())),
            "empty\n"
        );
    }

    /// Below 65 536 cells `write_parquet` plain-encodes every column, uncompressed, in one
    /// row group: the same bytes as polars' `ParquetWriter::finish` without compression
    /// when no column is worth a dictionary (its own choice: distinct values throughout).
    #[test]
    fn parquet_bytes_match_polars_finish() {
        use polars::prelude::{KeyValueMetadata, ParquetCompression, ParquetWriter};
        let n = 3000;
        let table = Table::new()
            .f64("t", (0..n).map(|k| k as f64 * 1e-3).collect::<Vec<_>>())
            .f64(
                "risk",
                (0..n)
                    .map(|k| (-(k as f64) / 700.0).exp())
                    .collect::<Vec<_>>(),
            )
            .opt_i64(
                "degree",
                (0..n)
                    .map(|k| (k % 7 != 0).then_some(k as i64))
                    .collect::<Vec<_>>(),
            )
            .str("phase", (0..n).map(|k| format!("p{k}")).collect::<Vec<_>>())
            .bool("ok", (0..n).map(|k| k % 2 == 0).collect::<Vec<_>>());
        let meta = [("origin", "test"), ("provenance", "{\"a\": 1}")];
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours.parquet");
        write_parquet(&table, &ours, &meta).unwrap();
        let mut df = to_dataframe(&table).unwrap();
        assert!(super::super::parquet::one_row_group(&df));
        let mut reference = Vec::new();
        ParquetWriter::new(&mut reference)
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(
                meta.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )))
            .with_compression(ParquetCompression::Uncompressed)
            .finish(&mut df)
            .unwrap();
        assert_eq!(std::fs::read(&ours).unwrap(), reference);
        // In memory, and through any writer, the same bytes.
        assert_eq!(to_parquet(&table, &meta).unwrap(), reference);
        let mut through = std::io::Cursor::new(Vec::new());
        write_parquet_into(&table, &meta, "cursor", &mut through).unwrap();
        assert_eq!(through.into_inner(), reference);
    }

    /// Columns polars would store as dictionaries (few distinct values), plain-encoded by
    /// the small-table path, read back equal.
    #[test]
    fn parquet_low_cardinality_round_trip() {
        use polars::prelude::{ParquetReader, SerReader};
        let n = 3000;
        let table = Table::new()
            .opt_i64(
                "degree",
                (0..n)
                    .map(|k| (k % 7 != 0).then_some(k as i64 % 5))
                    .collect::<Vec<_>>(),
            )
            .str(
                "phase",
                (0..n).map(|k| format!("p{}", k % 3)).collect::<Vec<_>>(),
            )
            .f64("c", vec![0.5; n]);
        let bytes = to_parquet(&table, &[]).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&to_dataframe(&table).unwrap()));
    }

    #[test]
    fn parquet_round_trip_with_metadata() {
        let table = Table::new()
            .f64("t", [0.0, 1e-3, 2.5])
            .opt_i64("degree", [Some(1), None, Some(3)])
            .str("phase", ["1", "2–3", "to 0.12"])
            .bool("ok", [true, false, true]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        write_parquet(
            &table,
            &p,
            &[("origin", "built-in default"), ("version", "0.1.0")],
        )
        .unwrap();
        let mut reader = ParquetReader::new(std::fs::File::open(&p).unwrap());
        let kv: Vec<(String, Option<String>)> = reader
            .get_metadata()
            .unwrap()
            .key_value_metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|kv| (kv.key, kv.value))
            .collect();
        assert!(
            kv.contains(&("origin".into(), Some("built-in default".into()))),
            "{kv:?}"
        );
        assert!(
            kv.contains(&("version".into(), Some("0.1.0".into()))),
            "{kv:?}"
        );
        let back = reader.finish().unwrap();
        assert_eq!(back.shape(), (3, 4));
        assert!(back.equals_missing(&to_dataframe(&table).unwrap()));
        // A malformed table writes nothing.
        let bad = Table::new().f64("a", [1.0]).f64("b", Vec::new());
        let q = dir.path().join("bad.parquet");
        assert!(write_parquet(&bad, &q, &[]).is_err());
        assert!(!q.exists());
    }
}
